import { UnauthorizedError } from '@spool/common';
import type { Request } from 'express';

const TOKEN_SCHEME = /^Token\s+([A-Za-z0-9+/_-]+={0,2})\s*$/i;

/**
 * The credential of a blob request: Soledad's `Authorization: Token base64(user:token)`
 * — its token, once its user is checked against the user of the path (a user's
 * credentials act on that user's blobs only; an admin token acts for the user it names) —
 * else the standard one (`Authorization: Bearer`, `?token=`). Which API token it is, and
 * what it may do, access control decides. With access control off, credentials are not
 * looked at.
 */
export function blobCredential(authEnabled: boolean) {
  return (req: Request, standard: string | undefined): string | undefined => {
    const header = req.headers.authorization;
    if (!authEnabled || header === undefined || !/^Token(?:\s|$)/i.test(header)) return standard;
    const encoded = TOKEN_SCHEME.exec(header)?.[1];
    const decoded = encoded === undefined ? '' : Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0 || colon === decoded.length - 1) {
      throw new UnauthorizedError('Malformed Authorization header: expected Token <base64 of user:token>');
    }
    const user = decoded.slice(0, colon);
    const pathUser: unknown = req.params.user;
    if (typeof pathUser === 'string' && user !== pathUser) {
      throw new UnauthorizedError(
        `The Token credential is for user ${JSON.stringify(user)}, this path is user ${JSON.stringify(pathUser)}'s`,
      );
    }
    return decoded.slice(colon + 1);
  };
}
