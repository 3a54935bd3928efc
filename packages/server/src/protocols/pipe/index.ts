import type { Request, Response } from 'express';
import { requires } from '../access-rule.js';
import { defineProtocol, type HttpRoute } from '../protocol.js';
import { atOwner } from '../shared/rendezvous/owner-routing.js';
import { PipeRefusal, pipeErrorResponse } from './errors.js';
import { PipeMeetings } from './meetings.js';

/** Paths piping-server keeps for itself: nobody sends to them. */
const RESERVED_PATHS = new Set(['/', '/help', '/version', '/favicon.ico', '/robots.txt']);

/** What a page on another origin may read of a receiver's answer. */
const EXPOSED_HEADERS = ['Content-Length', 'Content-Type', 'Content-Disposition', 'X-Piping'];

/** The path the parties meet at: the request's path under the mount, without a trailing slash (as piping-server). */
function meetingPath(req: Request): string {
  const path = req.path.replace(/\/$/, '');
  return path === '' ? '/' : path;
}

function helpText(base: string): string {
  return [
    'Spool pipe: piping-server compatible (docs/protocols/pipe.md)',
    '',
    '======= Get  =======',
    `curl ${base}/mypath`,
    '',
    '======= Send =======',
    `curl -T myfile ${base}/mypath`,
    `echo 'hello!' | curl -T - ${base}/mypath`,
    '',
    '======= Several receivers =======',
    `curl -T myfile '${base}/mypath?n=2'`,
    `curl '${base}/mypath?n=2'`,
    '',
  ].join('\n');
}

/**
 * piping-server's way of meeting, under `pipeBasePath` (default `/pipe/`): `PUT`/`POST
 * <base><any/path>` sends, `GET <base><any/path>` receives, whoever comes first waits;
 * `?n=N` receivers each get every byte. The bytes go straight from the sender's socket to
 * the receivers' (nothing is kept); each transfer is a core resource while it runs.
 * Sending needs `create`, receiving `read` (docs/protocols/pipe.md).
 */
export const pipeProtocol = defineProtocol('pipe', (deps) => {
  const meetings = new PipeMeetings(deps.core, deps.logger);
  const base = deps.config.pipeBasePath.replace(/\/+$/, '');
  const send = async (req: Request, res: Response) => {
    const path = meetingPath(req);
    if (RESERVED_PATHS.has(path)) throw new PipeRefusal(`Cannot send to the reserved path '${path}'. (e.g. '/mypath123')`);
    if (req.headers['content-range'] !== undefined) throw new PipeRefusal(`Content-Range is not supported for now in ${req.method}`);
    return atOwner(deps.owners, deps.logger, `pipe:${path}`, req, res, () => meetings.send(req, res, path));
  };
  const receive = async (req: Request, res: Response) => {
    const path = meetingPath(req);
    if (path === '/' || path === '/help') {
      res.type('text/plain').send(helpText(`${deps.urls.httpBase(req)}${base}`));
      return;
    }
    if (path === '/version') {
      res.type('text/plain').send('spool\n');
      return;
    }
    if (path === '/favicon.ico') {
      res.status(204).end();
      return;
    }
    if (path === '/robots.txt') {
      res.status(404).end();
      return;
    }
    return atOwner(deps.owners, deps.logger, `pipe:${path}`, req, res, () => meetings.receive(req, res, path));
  };
  // A HEAD would take a receiver's place and get no byte: refused, as piping-server does (its reserved paths answer).
  const head = (req: Request, res: Response) => {
    if (!RESERVED_PATHS.has(meetingPath(req))) throw new PipeRefusal(`Unsupported method: ${req.method}.`, 405);
    return receive(req, res);
  };
  const toSend = requires<Request>('create');
  const toReceive = requires<Request>('read');
  const routes: HttpRoute[] = [
    { method: 'GET', path: '/', access: toReceive, handle: receive },
    { method: 'PUT', path: '/', access: toSend, handle: send },
    { method: 'POST', path: '/', access: toSend, handle: send },
    { method: 'GET', path: '/*path', access: toReceive, handle: receive },
    { method: 'HEAD', path: '/*path', access: toReceive, handle: head },
    { method: 'PUT', path: '/*path', access: toSend, handle: send },
    { method: 'POST', path: '/*path', access: toSend, handle: send },
  ];
  return {
    http: { basePath: deps.config.pipeBasePath, routes, errorResponse: pipeErrorResponse, exposedHeaders: EXPOSED_HEADERS },
    stop: () => meetings.stop(),
  };
});
