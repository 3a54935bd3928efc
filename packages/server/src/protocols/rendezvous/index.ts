import { InvalidMessageError, MessageTooLargeError } from '@spool/common';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { SpoolConfig } from '../../config/schema.js';
import { publicAccess, requires } from '../access-rule.js';
import { defineProtocol, type HttpRoute } from '../protocol.js';
import { readJsonBody } from '../shared/http/json-body.js';
import { askOtherNodes, atOwner, isForwarded } from '../shared/rendezvous/owner-routing.js';
import { destinationError, invalidBody, RendezvousError, rendezvousErrorResponse, sourceError } from './errors.js';
import { type ClientError, RendezvousSessions, STREAM_KEY_PREFIX, sessionJson, streamKey } from './sessions.js';

/** Names the nodes whose streams a `GET /stream` could not list (the list is partial then). */
const UNREACHABLE_NODES_HEADER = 'Spool-Unreachable-Nodes';

/** RFC 9110 token: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII plus space and tab. */
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

/** An optional JSON body, any Content-Type (curl -d sends form-encoded); a bad one is the original's InvalidBodyError. */
async function optionalJson(config: SpoolConfig, req: Request, res: Response): Promise<unknown> {
  try {
    return await readJsonBody({ config }, req, res, z.unknown(), { anyContentType: true });
  } catch (err) {
    if (err instanceof InvalidMessageError) throw invalidBody(`Invalid JSON: ${err.message.replace(/^Malformed JSON body: /, '')}`);
    if (err instanceof MessageTooLargeError) throw invalidBody(`Invalid JSON: ${err.message}`);
    throw err;
  }
}

/** Another node's answer to the stream list: its streams (each checked no further: nodes trust each other's JSON). */
function isList(value: unknown): value is Record<string, unknown>[] {
  return Array.isArray(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `download_headers` / `upload_headers`: names HTTP tokens, values visible ASCII (as the original checks). */
function headersOf(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalidBody(`Invalid JSON: ${field} must be an object of header names to values`);
  const headers: Record<string, string> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!HEADER_NAME.test(name)) throw invalidBody(`Not a valid HTTP header name: ${name}`);
    const text = typeof raw === 'number' ? String(raw) : raw;
    if (typeof text !== 'string' || !HEADER_VALUE.test(text)) throw invalidBody(`Not a valid HTTP header value: ${JSON.stringify(raw)}`);
    headers[name] = text;
  }
  return headers;
}

/** The body of `POST /stream/:id/error`; none at all is a vague 400 (the original's defect 5 fixed). */
function clientErrorOf(body: unknown): ClientError {
  if (body === undefined) return { status: 400, name: 'ClientError', message: 'The other side of the stream reported an error' };
  if (!isObject(body)) throw invalidBody('Invalid JSON: the body must be an object {"http_status","name","message"}');
  const { http_status: status = 400, name = 'ClientError', message = 'The other side of the stream reported an error' } = body;
  // The original crashed on a non-numeric http_status (defect 3).
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    throw invalidBody(`Invalid JSON: http_status must be an integer HTTP status from 200 to 599, got ${JSON.stringify(status)}`);
  }
  if (typeof name !== 'string' || typeof message !== 'string') throw invalidBody('Invalid JSON: name and message must be strings');
  return { status, name: name.slice(0, 200), message: message.slice(0, 4096) };
}

function streamId(req: Request): string {
  return String(req.params.id);
}

/**
 * The http-rendezvous API (NathanRSmith/http-rendezvous), at the server root so its
 * users' `curl -X POST $URL/stream` works unchanged: a stream is created, one PUT
 * (source) and one GET (destination) meet at it, and the PUT body flows into the GET
 * answer. Every route, status, error name and JSON shape as the original's, without its
 * five defects (docs/protocols/rendezvous.md).
 */
export const rendezvousProtocol = defineProtocol('rendezvous', (deps) => {
  const { config } = deps;
  const sessions = new RendezvousSessions(deps.core, deps.logger, deps.owners, {
    waitMs: config.rendezvousWaitMs,
    keepEndedMs: config.rendezvousKeepEndedMs,
  });

  const create = async (req: Request, res: Response) => {
    const body = await optionalJson(config, req, res);
    if (body !== undefined && !isObject(body)) throw invalidBody('Invalid JSON: the body must be an object');
    const session = await sessions.create(
      headersOf(body?.download_headers, 'download_headers'),
      headersOf(body?.upload_headers, 'upload_headers'),
    );
    res.status(201).json({ stream: session.id });
  };
  const upload = async (req: Request, res: Response) => {
    const id = streamId(req);
    const result = await sessions.connect(id, 'src', req, res);
    if (result.end === 'receivers-gone') throw destinationError();
    if (result.end === 'source-aborted') throw sourceError();
    res.status(200).set(sessions.get(id).uploadHeaders).end();
  };
  const download = async (req: Request, res: Response) => {
    // The transfer writes the answer; a failure before it is thrown to the mapping.
    await sessions.connect(streamId(req), 'dst', req, res);
  };
  const reportError = async (req: Request, res: Response) => {
    const session = sessions.get(streamId(req));
    const error = clientErrorOf(await optionalJson(config, req, res));
    sessions.reportError(session.id, error);
    res.status(200).end();
  };

  /** Every stream of the cluster, oldest first: this node's and those of the other nodes holding one. */
  const list = async (req: Request, res: Response) => {
    const here = sessions.list().map(sessionJson);
    if (isForwarded(req)) return void res.json(here);
    const { answers, failed } = await askOtherNodes(deps.owners, deps.logger, STREAM_KEY_PREFIX, req, {
      accept: isList,
      expected: 'a list',
    });
    const all = [...here, ...answers.flat()];
    all.sort((x, y) => String(x.created_at).localeCompare(String(y.created_at)));
    if (failed.length > 0) res.setHeader(UNREACHABLE_NODES_HEADER, failed.join(', '));
    res.json(all);
  };

  /** A stream's routes run on the node that created it (forwarded there from any other). */
  const atStreamOwner =
    (handle: (req: Request, res: Response) => Promise<void> | void) =>
    (req: Request, res: Response): Promise<void> =>
      atOwner(deps.owners, deps.logger, streamKey(streamId(req)), req, res, () => handle(req, res));
  const routes: HttpRoute[] = [
    {
      method: 'GET',
      path: '/ping',
      access: publicAccess('health'),
      handle: (_req, res) => void res.status(200).type('text/plain').send('pong'),
    },
    { method: 'POST', path: '/stream', access: requires('create'), handle: create },
    { method: 'GET', path: '/stream', access: requires('list'), handle: list },
    { method: 'PUT', path: '/stream/:id', access: requires('create'), handle: atStreamOwner(upload) },
    { method: 'GET', path: '/stream/:id', access: requires('read'), handle: atStreamOwner(download) },
    // A HEAD would connect as the destination and take no byte.
    {
      method: 'HEAD',
      path: '/stream/:id',
      access: requires('read'),
      handle: () => {
        throw new RendezvousError(405, 'BadRouteError', 'HEAD is not allowed on a stream; GET receives it');
      },
    },
    {
      method: 'GET',
      path: '/stream/:id/status',
      access: requires('read'),
      handle: atStreamOwner((req, res) => void res.json(sessionJson(sessions.get(streamId(req))))),
    },
    { method: 'POST', path: '/stream/:id/error', access: requires('read'), handle: atStreamOwner(reportError) },
  ];
  return {
    http: { basePath: '/', routes, errorResponse: rendezvousErrorResponse, exposedHeaders: [UNREACHABLE_NODES_HEADER] },
    stop: () => sessions.stop(),
  };
});
