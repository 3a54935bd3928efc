/**
 * Deny by default, proven over every mounted entry: each HTTP route, WebSocket endpoint
 * and TCP protocol request the server mounts (enumerated from the server itself, so a new
 * protocol's routes are covered the day they are mounted), and each WebSocket message
 * that names a permission, refuses an anonymous caller (401 / close 1008 / HSP 49) and a
 * wrong-role token (403 / close 1008 / HSP 50). Only the documented public entries are let through, and the
 * permission table in docs/access-control.md is the one the server mounts.
 */
import { readFileSync } from 'node:fs';
import { type AccessRule, accessTableRows, type MountedRoute, type SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { RawHspSocket } from './helpers/hsp-raw-client.js';
import { type HttpResponse, request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';
import { RawStepSocket } from './helpers/step-raw-client.js';

const ADMIN = 'admin-token-0123456789abcdef';
const UPLOADER = 'uploader-token-0123456789abcd';
const READER = 'reader-token-0123456789abcdef';

/** The public entries, as docs/access-control.md lists them. */
const PUBLIC = new Set([
  'GET /health',
  'GET /ready',
  'GET /api/v1/openapi.json',
  'hsp /ping',
  'GET /ping',
  'GET /',
  'GET /web/config.json',
  'GET /web/:file',
]);

/** The error code of a refusal: from a JSON body, or a plain-text one (`CODE: message`, tus); none for HEAD. */
function errorCodeOf(response: HttpResponse): string | undefined {
  if (response.body.length === 0) return undefined;
  // The HTTP API's error body, or a protocol's own JSON shape with its code beside its name (blob-sync).
  if (String(response.headers['content-type']).startsWith('application/json')) {
    const body = response.json<{ error?: { code: string }; code?: string }>();
    return body.error?.code ?? body.code;
  }
  // `CODE: message` (tus), or piping-server's `[ERROR] CODE: message` (pipe).
  return response
    .text()
    .replace(/^\[ERROR\] /, '')
    .split(':')[0];
}

/** A token that is known but lacks what `needs` asks for. */
function wrongRoleFor(needs: string, foreignReadToken: string): string {
  if (needs === 'read') return foreignReadToken; // a read token of another resource
  if (needs === 'delete' || needs.startsWith('list')) return UPLOADER;
  return READER; // create, write
}

/** A sample message per WebSocket message type that names a permission (a new one must be added here). */
const SAMPLE_MESSAGES: Record<string, (resourceId: string) => unknown> = {
  create: () => ({ type: 'create', metadata: { filename: 'x.log', mimeType: 'text/plain', supportsLineAccess: true } }),
  resume: (id) => ({ type: 'resume', id }),
};

interface Created {
  id: string;
  name: string;
  readToken: string;
  writeToken: string;
}

describe('Access control on every mounted entry (deny by default)', () => {
  let server: SpoolServer;
  let resource: Created;
  let other: Created;
  before(async () => {
    server = await startTestServer({
      authEnabled: true,
      apiTokens: `ops:admin:${ADMIN},ci:uploader:${UPLOADER},dash:reader:${READER}`,
    });
    // Named, so the routes that take a name (/api/v1/names/...) are walked with a real one.
    const put = (name: string) =>
      request(`${server.url}/api/v1/uploads/${name}?complete=0&name=probe/${name}`, {
        method: 'PUT',
        body: 'line\n',
        headers: { Authorization: `Bearer ${UPLOADER}` },
      });
    resource = (await put('a.log')).json<Created>();
    other = (await put('b.log')).json<Created>();
  });
  after(() => server.close());

  // Blob routes name a user that none of the tokens is named after: only an admin may touch their blobs.
  const urlOf = (entry: MountedRoute) =>
    `${server.url}${entry.path
      .replace('{/:filename}', '/probe.log')
      .replace(':id', resource.id)
      .replace('*name', resource.name)
      .replace(':contextId', 'ctx')
      .replace(':user', 'blob-user')
      .replace(':blobId', 'probe-blob')
      .replace('*path', 'probe/pipe')
      .replace(':file', 'app.js')}`;
  const withoutBody = (entry: MountedRoute) => ['GET', 'HEAD', 'DELETE'].includes(entry.route.method);
  const call = (entry: MountedRoute, headers: Record<string, string> = {}) =>
    request(urlOf(entry), {
      method: entry.route.method,
      headers: { ...headers, ...(withoutBody(entry) ? {} : { 'Content-Type': 'application/json' }) },
      ...(withoutBody(entry) ? {} : { body: '{}' }),
      timeoutMs: 5_000,
    });

  it('mounts the routes and endpoints this test walks (it cannot pass on an empty list)', () => {
    expect(server.host.routes.length).to.be.at.least(13);
    expect(server.host.endpoints.length).to.be.at.least(4);
  });

  it('refuses every non-public HTTP route to an anonymous caller with 401 and to a wrong-role token with 403', async () => {
    const checked: string[] = [];
    for (const entry of server.host.routes) {
      const name = `${entry.route.method} ${entry.path}`;
      if (entry.route.access.kind === 'public') {
        expect(PUBLIC.has(name), `${name} is public but not in the documented public list`).to.equal(true);
        expect((await call(entry)).status, name).to.be.below(400);
        continue;
      }
      const anonymous = await call(entry);
      expect(anonymous.status, `${name} anonymous`).to.equal(401);
      expect(errorCodeOf(anonymous), name).to.equal(entry.route.method === 'HEAD' ? undefined : 'UNAUTHORIZED');
      expect((await call(entry, { Authorization: 'Bearer unknown-token-0123456789' })).status, `${name} unknown token`).to.equal(401);
      const rule = entry.route.access as Extract<AccessRule<unknown>, { kind: 'requires' }>;
      const wrong = await call(entry, { Authorization: `Bearer ${wrongRoleFor(rule.needs, other.readToken)}` });
      expect(wrong.status, `${name} wrong role (${rule.needs})`).to.equal(403);
      checked.push(name);
    }
    expect(checked.length).to.equal(server.host.routes.filter((r) => r.route.access.kind !== 'public').length);
    // Nothing a refused request asked for happened.
    expect((await server.core.getRecord(resource.id)).state).to.equal('IN_PROGRESS');
    expect(await server.core.list({ filenamePrefix: 'probe.log' })).to.have.length(0);
    expect(await server.core.list({ nameStartsWith: 'blob-sync/' })).to.have.length(0);
  });

  it('does not reveal counts on /health to anonymous callers when access control is on', async () => {
    const anonymous = await request(`${server.url}/health`);
    expect(anonymous.json()).to.deep.equal({ status: 'ok' });
    const admin = await request(`${server.url}/health`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    expect(admin.json()).to.have.property('activeUploads');
  });

  const connect = async (path: string, token?: string) => {
    const socket = new RawStepSocket(`${server.wsUrl}${path}`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      protocol: 'spool.v1',
    });
    await socket.opened();
    return socket;
  };

  it('closes every WebSocket endpoint 1008 for an anonymous caller and for a wrong-role token', async () => {
    for (const { endpoint } of server.host.endpoints) {
      const path = endpoint.prefix ? `${endpoint.path}${resource.id}` : endpoint.path;
      expect(endpoint.access.kind, path).to.not.equal('public');
      const anonymous = await (await connect(path)).closed;
      expect(anonymous.code, `${path} anonymous`).to.equal(1008);
      expect(anonymous.reason, path).to.match(/access token is required/);
      if (endpoint.access.kind === 'requires') {
        const wrong = await (await connect(path, wrongRoleFor(endpoint.access.needs, other.readToken))).closed;
        expect(wrong.code, `${path} wrong role`).to.equal(1008);
        expect(wrong.reason, path).to.match(/may not|does not allow/);
      }
    }
  });

  it('closes 1008 for every WebSocket message that needs a permission the token lacks', async () => {
    let checked = 0;
    for (const { endpoint } of server.host.endpoints) {
      for (const [type, rule] of Object.entries(endpoint.messages ?? {})) {
        if (rule.kind !== 'requires') continue;
        const sample = SAMPLE_MESSAGES[type];
        expect(sample, `a sample message for ${type}`).to.not.equal(undefined);
        const socket = await connect(endpoint.path, wrongRoleFor(rule.needs, other.readToken));
        socket.sendJson(sample?.(resource.id));
        const closed = await socket.closed;
        expect(closed.code, type).to.equal(1008);
        expect(closed.reason, type).to.match(/^FORBIDDEN: /);
        checked++;
      }
    }
    expect(checked).to.be.at.least(2);
  });

  it('refuses every non-public request of every TCP protocol (HSP) with 49 to an anonymous caller and 50 to a wrong-role token', async () => {
    let checked = 0;
    const hsp = await RawHspSocket.open(server.host.tcpPorts.hsp as number);
    // A request of each route, naming the resource where one is named; /upload as a stream request.
    const send = (route: string, auth?: string) =>
      hsp.request({
        route,
        'x-resource-id': resource.id,
        ...(route === '/upload' ? { 'x-stream': '10:10' } : {}),
        ...(auth ? { auth } : {}),
      });
    for (const { protocol, mount } of server.host.tcpMounts) {
      expect(protocol).to.equal('hsp');
      for (const [route, rule] of Object.entries(mount.requests)) {
        const name = `${protocol} ${route}`;
        if (rule.kind === 'public') {
          expect(PUBLIC.has(name), `${name} is public but not in the documented public list`).to.equal(true);
          expect((await send(route)).status, name).to.equal(0);
          continue;
        }
        const anonymous = await send(route);
        expect(anonymous.status, `${name} anonymous`).to.equal(49);
        expect(anonymous.headers['x-error']).to.equal('UNAUTHORIZED');
        expect((await send(route, 'unknown-token-0123456789')).status, `${name} unknown token`).to.equal(49);
        const needs = (rule as Extract<AccessRule<unknown>, { kind: 'requires' }>).needs;
        const wrong = await send(route, wrongRoleFor(needs, other.readToken));
        expect(wrong.status, `${name} wrong role (${needs})`).to.equal(50);
        expect(wrong.headers['x-error']).to.equal('FORBIDDEN');
        checked++;
      }
    }
    hsp.destroy();
    expect(checked).to.be.at.least(4);
    expect(await server.core.list({ filenamePrefix: 'hsp-upload' })).to.have.length(0);
  });

  it('documents exactly the mounted permission table in docs/access-control.md', () => {
    const doc = readFileSync(new URL('../../docs/access-control.md', import.meta.url), 'utf8');
    const documented = doc.split('\n').filter((line) => /^\| [a-z-]+ \| (`|WebSocket|TCP|…)/.test(line));
    expect(documented).to.deep.equal(accessTableRows(server.host));
  });
});
