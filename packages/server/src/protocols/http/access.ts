import type { NextFunction, Request, Response } from 'express';
import { credentialOf, describePrincipal, type Permission, type Principal } from '../../core/access/access-control.js';
import type { HttpContext } from './context.js';

/**
 * Access control on HTTP, with the rules every protocol shares (docs/access-control.md):
 * the credential is `Authorization: Bearer <token>` or `?token=<token>`; none or an
 * unknown one → 401, one that does not allow the operation → 403. Checked before any
 * body byte is read (and before `100 Continue`).
 */
export async function authorize(ctx: HttpContext, req: Request, permission: Permission, resourceId?: string): Promise<Principal> {
  const url = new URL(req.originalUrl, 'http://localhost');
  const principal = await ctx.core.access.authenticate(credentialOf(req.headers, url));
  await ctx.core.access.authorize(principal, permission, resourceId);
  return principal;
}

/** Route guard: `permission` on the resource named by `:id` (if the route has one). */
export function requires(ctx: HttpContext, permission: Permission) {
  return async (req: Request<{ id?: string }>, res: Response, next: NextFunction): Promise<void> => {
    const principal = await authorize(ctx, req, permission, req.params.id);
    res.locals.principal = describePrincipal(principal);
    next();
  };
}
