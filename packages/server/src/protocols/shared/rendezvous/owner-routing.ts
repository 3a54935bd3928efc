import { Agent, type ClientRequest, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream';
import { MessageTooLargeError } from '@spool/common';
import type { Request, Response } from 'express';
import type { Logger } from 'winston';
import type { KeyOwners } from '../../../core/cluster/key-owners.js';
import { pumpRequestBody } from '../../../transport/http/body-pump.js';
import { BufferSink } from '../../../transport/http/buffer-sink.js';
import { acceptBody, requestHasBody } from '../../../transport/http/request-body.js';

/**
 * Marks a request one node forwarded to the node owning its meeting point: the owner
 * handles it as its own and never forwards it again. It grants nothing: the client's own
 * credentials travel with the request and the owner's access rules check them again.
 */
export const FORWARDED_HEADER = 'x-spool-forwarded-from';

/** Headers of one connection (RFC 9110 §7.6.1), not of the message: never passed on. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
  FORWARDED_HEADER,
]);

/** Connections to other nodes, kept open between parties. */
const nodeAgent = new Agent({ keepAlive: true });

/** A party's request could not reach the node owning its meeting point, or that node went away before answering. */
export class NodeUnreachableError extends Error {
  readonly code = 'NODE_UNREACHABLE';
  constructor(
    message: string,
    /** Nothing listened at the owner's address: the party may take the meeting point over. */
    readonly refused = false,
  ) {
    super(message);
    this.name = 'NodeUnreachableError';
  }
}

/** `headers` without those of the connection (and those its `Connection` header names). */
function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase()),
  );
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !named.has(name)) kept[name] = value;
  }
  return kept;
}

/** The headers a request passed to another node carries: the client's end-to-end ones and the forwarding mark. */
function forwardedHeaders(req: Request, selfUrl: string | undefined): Record<string, string | string[]> {
  const headers = endToEnd(req.headers);
  headers[FORWARDED_HEADER] = selfUrl ?? 'unknown';
  return headers;
}

/**
 * Sends `req` to `nodeUrl` as it came (method, path and query, end-to-end headers,
 * credentials) and relays the answer to `res`, both bodies streamed with back-pressure.
 * A client that sent `Expect: 100-continue` is told to go on when the owner says so.
 * Resolves when the answer ended or was cut off; the owner going away mid-answer cuts
 * `res` off (its client sees an aborted body, never a clean end). Rejects with
 * NodeUnreachableError when no answer came (nothing written to `res` then).
 */
function forward(req: Request, res: Response, nodeUrl: string, selfUrl: string | undefined): Promise<void> {
  const headers = forwardedHeaders(req, selfUrl);
  const client = req.socket.remoteAddress;
  if (client) headers['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for']}, ${client}` : client;
  const hasBody = requestHasBody(req);
  const expectContinue = hasBody && /100-continue/i.test(String(req.headers.expect ?? ''));
  if (expectContinue) headers.expect = '100-continue';
  return new Promise<void>((resolve, reject) => {
    let answered = false;
    const out: ClientRequest = httpRequest(`${nodeUrl}${req.originalUrl}`, { method: req.method, headers, agent: nodeAgent });
    const sendBody = () => {
      acceptBody(req, res);
      req.pipe(out);
      // The client leaving mid-body cuts the owner's request: its party sees an aborted body.
      req.once('close', () => {
        if (!req.complete) out.destroy();
      });
    };
    out.on('response', (answer: IncomingMessage) => {
      answered = true;
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
      res.flushHeaders();
      pipeline(answer, res, (err) => {
        if (err) {
          res.destroy();
          out.destroy();
        }
        resolve();
      });
    });
    out.on('error', (err: NodeJS.ErrnoException) => {
      req.unpipe(out);
      if (answered) return;
      reject(
        new NodeUnreachableError(
          `The node holding this meeting point (${nodeUrl}) is unreachable: ${err.message}`,
          err.code === 'ECONNREFUSED',
        ),
      );
    });
    // The client leaving before the owner answered: the owner's party leaves too.
    res.once('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    if (!hasBody) out.end();
    else if (expectContinue) {
      out.flushHeaders();
      out.once('continue', sendBody);
    } else {
      // Not a byte read before the owner is connected: if nothing listens there, the body is still whole for another try.
      out.once('socket', (socket) => {
        if (socket.connecting) socket.once('connect', sendBody);
        else sendBody();
      });
    }
  });
}

/** Most bytes one node's answer to `askOtherNodes` may have. */
const MAX_NODE_ANSWER_BYTES = 16 * 1024 * 1024;
/** How long one node may stay silent while answering `askOtherNodes` (connecting, or between bytes). */
const NODE_ANSWER_IDLE_MS = 5_000;
/** How long one node may take for its whole answer, however it trickles it: the list waits for no node longer. */
export const NODE_ANSWER_DEADLINE_MS = 10_000;

/** What the other nodes answered: the accepted JSON bodies of their 200s, and the URLs of those that gave none. */
export interface NodeAnswers<T> {
  readonly answers: T[];
  readonly failed: string[];
}

/** What `askOtherNodes` takes as a node's answer. */
export interface NodeAnswerCheck<T> {
  /** Whether a node's JSON is an answer (else the node is named in `failed`, as one that gave none). */
  readonly accept: (value: unknown) => value is T;
  /** What an accepted answer is, for the log of one that is not ("a list"). */
  readonly expected: string;
  /** Default NODE_ANSWER_DEADLINE_MS. */
  readonly deadlineMs?: number;
}

/** One node's JSON answer to `req` forwarded (GET), or why there is none. */
function askNode(nodeUrl: string, req: Request, selfUrl: string | undefined, deadlineMs: number): Promise<unknown> {
  const headers = forwardedHeaders(req, selfUrl);
  return new Promise((resolve, reject) => {
    // `timeout`: the socket idle that long (no connection, no byte of the answer).
    const out = httpRequest(`${nodeUrl}${req.originalUrl}`, { method: 'GET', headers, agent: nodeAgent, timeout: NODE_ANSWER_IDLE_MS });
    const deadline = setTimeout(() => out.destroy(new Error(`no whole answer within ${deadlineMs} ms`)), deadlineMs);
    const settle = (settled: () => void) => {
      clearTimeout(deadline);
      settled();
    };
    out.on('timeout', () => out.destroy(new Error(`no answer within ${NODE_ANSWER_IDLE_MS} ms`)));
    out.on('error', (err) => settle(() => reject(err)));
    out.on('response', (answer: IncomingMessage) => {
      // The same bounded pump as a request body: at most MAX_NODE_ANSWER_BYTES, idle timeout.
      const sink = new BufferSink();
      pumpRequestBody(answer, sink, {
        room: MAX_NODE_ANSWER_BYTES,
        tooLarge: () => new MessageTooLargeError(MAX_NODE_ANSWER_BYTES),
        idleTimeoutMs: NODE_ANSWER_IDLE_MS,
        deadlineMs: 0,
      }).done.then(
        () =>
          settle(() => {
            if (answer.statusCode !== 200) return reject(new Error(`answered ${answer.statusCode}`));
            try {
              resolve(JSON.parse(sink.text()));
            } catch (err) {
              reject(new Error(`answered no JSON: ${(err as Error).message}`));
            }
          }),
        (err: unknown) => {
          out.destroy();
          settle(() => reject(err));
        },
      );
    });
    out.end();
  });
}

/**
 * Asks every other node holding a key under `keyPrefix` the GET `req` asked here (same
 * path and query, the client's credentials, checked there again), marked forwarded so
 * each answers for itself only: how a node lists what the whole cluster holds. A node
 * that does not answer 200 with accepted JSON within its deadline is named in `failed`
 * (logged), not waited for.
 */
export async function askOtherNodes<T>(
  owners: KeyOwners,
  logger: Logger,
  keyPrefix: string,
  req: Request,
  check: NodeAnswerCheck<T>,
): Promise<NodeAnswers<T>> {
  const nodes = await owners.otherHolders(keyPrefix);
  const deadlineMs = check.deadlineMs ?? NODE_ANSWER_DEADLINE_MS;
  const settled = await Promise.allSettled(nodes.map((nodeUrl) => askNode(nodeUrl, req, owners.nodeUrl, deadlineMs)));
  const answers: T[] = [];
  const failed: string[] = [];
  settled.forEach((result, index) => {
    const error = result.status === 'rejected' ? (result.reason as Error).message : undefined;
    if (result.status === 'fulfilled' && check.accept(result.value)) {
      answers.push(result.value);
      return;
    }
    const nodeUrl = nodes[index] as string;
    failed.push(nodeUrl);
    logger.warn('a node did not answer a cluster-wide list', {
      node: nodeUrl,
      error: error ?? `answered JSON that is not ${check.expected}`,
    });
  });
  return { answers, failed };
}

/** Whether `req` came from another node (`atOwner`, `askOtherNodes`): answer it for this node only. */
export function isForwarded(req: Request): boolean {
  return req.headers[FORWARDED_HEADER] !== undefined;
}

/**
 * Runs a party's request where its meeting point `key` lives: here when this node owns
 * it (claiming it when free: the first party makes its node the owner, held while the
 * party's answer is open), else on the owner node, forwarded (`forward`). A request
 * already forwarded is handled here. An owner with nothing listening (killed) is
 * forgotten and the key claimed again once.
 */
export async function atOwner(
  owners: KeyOwners,
  logger: Logger,
  key: string,
  req: Request,
  res: Response,
  here: () => Promise<void> | void,
): Promise<void> {
  const forwarded = isForwarded(req);
  for (let attempt = 0; ; attempt++) {
    const ownership = await owners.claim(key);
    if (ownership.here) {
      // A client gone during the claim: its answer will not close again, so let go now.
      if (res.closed || res.destroyed || req.socket.destroyed) return ownership.release();
      res.once('close', ownership.release);
      return await here();
    }
    if (forwarded) {
      throw new NodeUnreachableError('The meeting point moved to another node while this request was forwarded; try again');
    }
    try {
      return await forward(req, res, ownership.nodeUrl, owners.nodeUrl);
    } catch (err) {
      if (!(err instanceof NodeUnreachableError && err.refused && attempt === 0)) throw err;
      logger.warn('meeting point owner unreachable: taken over', { key, owner: ownership.nodeUrl });
      await owners.forget(key, ownership.nodeUrl);
    }
  }
}
