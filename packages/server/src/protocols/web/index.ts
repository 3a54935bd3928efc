import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Request, Response } from 'express';
import { HttpError, httpErrorFor } from '../../transport/http/errors.js';
import { publicAccess } from '../access-rule.js';
import { defineProtocol, type HttpRoute } from '../protocol.js';

/**
 * The built page: packages/web/dist, or `web/` beside this module where the server is
 * bundled into one file (the standalone `spool` package); undefined if neither exists.
 */
function assetsDir(): string | undefined {
  try {
    return path.join(path.dirname(createRequire(import.meta.url).resolve('@spool/web/package.json')), 'dist');
  } catch {
    const beside = fileURLToPath(new URL('./web/', import.meta.url));
    return existsSync(beside) ? beside : undefined;
  }
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};
/** Only the page's own files, by a plain name: nothing else of the disk is reachable. */
const ASSET = /^[A-Za-z0-9][A-Za-z0-9._-]*\.(?:js|css|map|txt)$/;

// The page loads only its own script and styles, and talks only to this server.
const PAGE_POLICY =
  "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/**
 * The web page (docs/web.md) at `/`: static assets built by `packages/web`. Public: the
 * page holds no data; everything it shows comes from the API under that API's own
 * access rules, with the token the user enters.
 */
export const webProtocol = defineProtocol('web', (deps) => {
  const dir = assetsDir();
  const serveFile = async (res: Response, name: string, req: Request) => {
    if (!dir) throw new HttpError(404, 'NOT_FOUND', 'The web page is not installed (the @spool/web package is missing)');
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      throw new HttpError(404, 'NOT_FOUND', name === 'index.html' ? 'The web page is not built: run `pnpm run build`' : `No asset ${name}`);
    }
    res.status(200);
    res.setHeader('Content-Type', TYPES[path.extname(name)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(info.size));
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', PAGE_POLICY);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(file);
      stream.once('error', reject);
      res.once('close', () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
  };
  const routes: HttpRoute[] = [
    {
      method: 'GET',
      path: '/',
      access: publicAccess('the web page: static; what it shows comes from the API, under its rules'),
      handle: (req, res) => serveFile(res, 'index.html', req),
    },
    {
      method: 'GET',
      path: '/web/config.json',
      access: publicAccess("the web page's settings: where tus uploads go, whether a token is needed"),
      handle: (_req, res) => {
        res.setHeader('Cache-Control', 'no-cache');
        res.json({ tusBasePath: deps.config.tusBasePath, authEnabled: deps.config.authEnabled });
      },
    },
    {
      method: 'GET',
      path: '/web/:file',
      access: publicAccess("the web page's script and styles"),
      handle: (req, res) => {
        const name = String(req.params.file);
        if (!ASSET.test(name)) throw new HttpError(404, 'NOT_FOUND', `No asset ${name}`);
        return serveFile(res, name, req);
      },
    },
  ];
  return { http: { basePath: '/', routes, errorResponse: httpErrorFor } };
});
