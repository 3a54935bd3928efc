import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CloseCode, ErrorCode, SpoolError } from '@spool/common';
import { expect } from 'chai';
import WebSocket from 'ws';
import { publicAccess, requires } from '../protocols/access-rule.js';
import { defineProtocol } from '../protocols/protocol.js';
import { DEFAULT_PROTOCOLS, type SpoolServer, startServer } from '../server.js';

const ADMIN = 'admin-token-0123456789abcdef';
const READER = 'reader-token-0123456789abcdef';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A protocol written only to exercise the seam: one of each kind of entry, and each way to fail. */
function probeProtocol(events: string[]) {
  return defineProtocol('probe', () => ({
    http: {
      basePath: '/probe',
      routes: [
        {
          method: 'GET',
          path: '/throws',
          access: publicAccess('test'),
          handle: () => {
            throw new Error('handler bug');
          },
        },
        { method: 'GET', path: '/rejects', access: publicAccess('test'), handle: async () => Promise.reject(new Error('async bug')) },
        { method: 'GET', path: '/secret', access: requires('list'), handle: (_req, res) => void res.json({ secret: true }) },
      ],
      // This protocol's own error shape: the host must use it for its routes, refusals included.
      errorResponse: (err: unknown) => ({
        status: err instanceof SpoolError ? (err.code === ErrorCode.UNAUTHORIZED ? 401 : 403) : 500,
        headers: {},
        body: { probeError: err instanceof SpoolError ? err.code : 'INTERNAL' },
      }),
    },
    websocket: [
      {
        path: '/ws/probe',
        access: requires('read'),
        refuse: (conn, err) => conn.close(CloseCode.POLICY_VIOLATION, `probe refused: ${(err as Error).message}`),
        accept: () => {
          throw new Error('accept bug');
        },
      },
    ],
    tcp: {
      host: '127.0.0.1',
      port: 0,
      accept: (socket: Socket) => {
        socket.write('hello\n');
        return {
          goodbye: () => {
            events.push('goodbye');
            socket.end('bye\n');
          },
          terminate: () => socket.destroy(),
        };
      },
      requests: {},
      busy: (socket: Socket) => socket.end('busy\n'),
    },
    stop: () => {
      events.push('stop');
    },
  }));
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Everything a raw socket receives until it closes. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString('utf8');
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => undefined);
  });
}

function firstData(socket: Socket): Promise<string> {
  return new Promise((resolve) => socket.once('data', (c: Buffer) => resolve(c.toString('utf8'))));
}

async function start(events: string[], overrides: Record<string, unknown> = {}): Promise<SpoolServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'spool-host-'));
  dirs.push(dataDir);
  return startServer(
    { host: '127.0.0.1', port: 0, hspPort: 0, dataDir, logLevel: 'error', ...overrides },
    { protocols: [...DEFAULT_PROTOCOLS, probeProtocol(events)] },
  );
}

describe('host: protocols on one seam', () => {
  it('mounts a new protocol from one list entry: HTTP routes, a WebSocket endpoint, a TCP listener', async () => {
    const server = await start([]);
    try {
      expect(server.host.routes.filter((r) => r.protocol === 'probe').map((r) => r.path)).to.deep.equal([
        '/probe/throws',
        '/probe/rejects',
        '/probe/secret',
      ]);
      expect(server.host.endpoints.map((e) => e.endpoint.path)).to.include('/ws/probe');
      const port = server.host.tcpPorts.probe as number;
      expect(port).to.be.above(0);
      const socket = connect(port, '127.0.0.1');
      expect(await firstData(socket)).to.equal('hello\n');
      socket.destroy();
      // The default protocols are still there, side by side.
      expect((await get(`${server.url}/health`)).status).to.equal(200);
    } finally {
      await server.close();
    }
  });

  it('contains handler errors: a throw or a rejection is that request’s error in the protocol’s own shape', async () => {
    const server = await start([]);
    try {
      for (const route of ['throws', 'rejects']) {
        const answer = await get(`${server.url}/probe/${route}`);
        expect(answer.status).to.equal(500);
        expect(JSON.parse(answer.body)).to.deep.equal({ probeError: 'INTERNAL' });
      }
      expect((await get(`${server.url}/health`)).status).to.equal(200);
    } finally {
      await server.close();
    }
  });

  it('enforces each entry’s access rule before its handler, refusals in the protocol’s shape', async () => {
    const server = await start([], { authEnabled: true, apiTokens: `ops:admin:${ADMIN},dash:reader:${READER}` });
    try {
      const anonymous = await get(`${server.url}/probe/secret`);
      expect(anonymous).to.deep.equal({ status: 401, body: '{"probeError":"UNAUTHORIZED"}' });
      expect((await get(`${server.url}/probe/secret`, { Authorization: `Bearer ${READER}` })).status).to.equal(403);
      expect(await get(`${server.url}/probe/secret`, { Authorization: `Bearer ${ADMIN}` })).to.deep.equal({
        status: 200,
        body: '{"secret":true}',
      });
      // The WebSocket endpoint: refused anonymously by the rule, and an accept that throws is refused the protocol's way.
      const closeOf = (headers: Record<string, string>) =>
        new Promise<{ code: number; reason: string }>((resolve) => {
          const ws = new WebSocket(`${server.wsUrl}/ws/probe`, { headers });
          ws.on('error', () => undefined);
          ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
        });
      const refused = await closeOf({});
      expect(refused.code).to.equal(1008);
      expect(refused.reason).to.match(/^probe refused: An access token is required/);
      expect(await closeOf({ Authorization: `Bearer ${READER}` })).to.deep.equal({ code: 1008, reason: 'probe refused: accept bug' });
    } finally {
      await server.close();
    }
  });

  it('answers CORS preflights before any access rule and exposes each mount’s headers to pages of allowed origins', async () => {
    const server = await start([], { authEnabled: true, apiTokens: `ops:admin:${ADMIN}`, corsOrigins: 'https://ci.example.com' });
    const preflight = (origin: string) =>
      new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
        const req = httpRequest(
          `${server.url}/api/v1/resources`,
          {
            method: 'OPTIONS',
            agent: false,
            headers: { Origin: origin, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization' },
          },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, headers: res.headers });
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      const allowed = await preflight('https://ci.example.com');
      expect(allowed.status).to.equal(204);
      expect(allowed.headers['access-control-allow-origin']).to.equal('https://ci.example.com');
      expect(allowed.headers['access-control-allow-headers']).to.equal('authorization');
      expect((await preflight('https://evil.example.com')).headers['access-control-allow-origin']).to.equal(undefined);
      const answer = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const req = httpRequest(
          `${server.url}/api/v1/resources`,
          { agent: false, headers: { Origin: 'https://ci.example.com', Authorization: `Bearer ${ADMIN}` } },
          (res) => {
            res.resume();
            resolve(res.headers);
          },
        );
        req.on('error', reject);
        req.end();
      });
      expect(answer['access-control-allow-origin']).to.equal('https://ci.example.com');
      expect(String(answer['access-control-expose-headers'])).to.include('Upload-Offset');
    } finally {
      await server.close();
    }
  });

  it('serves HEAD routes, adds a mount’s OPTIONS headers, routes X-HTTP-Method-Override and sends plain-text error bodies', async () => {
    const seen: string[] = [];
    const textProtocol = defineProtocol('text-probe', () => ({
      http: {
        basePath: '/text-probe',
        routes: [
          {
            method: 'HEAD',
            path: '/thing',
            access: publicAccess('test'),
            handle: (_req, res) => void res.setHeader('Thing', 'head').end(),
          },
          { method: 'GET', path: '/thing', access: publicAccess('test'), handle: (_req, res) => void res.send('body') },
          {
            method: 'PATCH',
            path: '/thing',
            access: requires('write'),
            handle: (req, res) => {
              seen.push(req.method);
              res.status(204).end();
            },
          },
        ],
        errorResponse: (err: unknown) => ({
          status: err instanceof SpoolError && err.code === ErrorCode.UNAUTHORIZED ? 401 : 405,
          headers: { 'Probe-Error': 'yes' },
          body: `refused: ${(err as Error).message}\n`,
        }),
        optionsHeaders: { 'Probe-Version': '1.0.0' },
        methodOverride: true,
      },
    }));
    const dataDir = mkdtempSync(path.join(tmpdir(), 'spool-host-'));
    dirs.push(dataDir);
    const server = await startServer(
      { host: '127.0.0.1', port: 0, dataDir, logLevel: 'error', authEnabled: true, apiTokens: `ops:admin:${ADMIN}` },
      { protocols: [...DEFAULT_PROTOCOLS, textProtocol] },
    );
    const send = (method: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const req = httpRequest(`${server.url}/text-probe/thing`, { method, headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const head = await send('HEAD');
      expect([head.status, head.headers.thing]).to.deep.equal([200, 'head']);
      expect((await send('GET')).body).to.equal('body');
      const options = await send('OPTIONS');
      expect([options.status, options.headers['probe-version'], options.headers.allow]).to.deep.equal([204, '1.0.0', 'HEAD, GET, PATCH']);
      const admin = { Authorization: `Bearer ${ADMIN}` };
      expect((await send('POST', { ...admin, 'X-HTTP-Method-Override': 'patch' })).status).to.equal(204);
      expect(seen).to.deep.equal(['PATCH']);
      // The overridden method's rule applies: anonymous is refused, in the mount's text shape.
      const anonymous = await send('POST', { 'X-HTTP-Method-Override': 'PATCH' });
      expect([anonymous.status, anonymous.headers['content-type'], anonymous.headers['probe-error']]).to.deep.equal([
        401,
        'text/plain; charset=utf-8',
        'yes',
      ]);
      expect(anonymous.body).to.match(/^refused: An access token is required/);
      // A POST without an override is a method the path does not serve.
      const post = await send('POST', admin);
      expect([post.status, post.body]).to.deep.equal([
        405,
        'refused: POST is not allowed on /text-probe/thing; allowed: HEAD, GET, PATCH\n',
      ]);
    } finally {
      await server.close();
    }
  });

  it('counts every socket against maxConnections: HTTP gets 503 JSON, TCP the protocol’s busy answer', async () => {
    const server = await start([], { maxConnections: 3 });
    try {
      const held = [connect(server.port, '127.0.0.1'), connect(server.port, '127.0.0.1'), connect(server.host.tcpPorts.probe as number)];
      await Promise.all(held.map((s) => new Promise((resolve) => s.once('connect', resolve))));
      await firstData(held[2] as Socket);
      const refusedHttp = connect(server.port, '127.0.0.1');
      refusedHttp.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      const answer = await readAll(refusedHttp);
      expect(answer).to.match(/^HTTP\/1\.1 503 /);
      expect(answer).to.include('"code":"SERVER_BUSY"');
      expect(await readAll(connect(server.host.tcpPorts.probe as number))).to.equal('busy\n');
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await get(`${server.url}/health`)).status).to.equal(200);
    } finally {
      await server.close();
    }
  });

  it('at shutdown stops each protocol, then tells every connection goodbye', async () => {
    const events: string[] = [];
    const server = await start(events);
    const socket = connect(server.host.tcpPorts.probe as number);
    const received = readAll(socket);
    await firstData(socket);
    await server.close();
    expect(await received).to.equal('hello\nbye\n');
    expect(events).to.deep.equal(['stop', 'goodbye']);
  });
});
