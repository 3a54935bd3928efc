/**
 * The OpenAPI 3.1 description at /api/v1/openapi.json: generated from the schemas the
 * routes validate with, so every mounted route of the HTTP API is in it, with the query
 * parameters it takes (and no other: those are refused).
 */
import type { SpoolServer } from '@spool/server';
import { expect } from 'chai';
import { request } from './helpers/http-client.js';
import { startTestServer } from './helpers/server.js';

interface Operation {
  parameters: { name: string; in: string }[];
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> };
}
interface OpenApi {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
}

/** `/a/:id{/:file}/*rest` → the OpenAPI paths it stands for (written here independently of the server's). */
function templates(path: string): string[] {
  const optional = path.match(/^(.*)\{(.*)\}(.*)$/);
  if (optional) return [...templates(`${optional[1]}${optional[3]}`), ...templates(`${optional[1]}${optional[2]}${optional[3]}`)];
  return [path.replace(/:(\w+)/g, '{$1}').replace(/\*(\w+)/g, '{$1}')];
}

describe('OpenAPI description of the HTTP API', () => {
  let server: SpoolServer;
  let doc: OpenApi;
  before(async () => {
    server = await startTestServer();
    const res = await request(`${server.url}/api/v1/openapi.json`);
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^application\/json/);
    doc = res.json<OpenApi>();
  });
  after(() => server.close());

  it('is OpenAPI 3.1 and lists every mounted route of the HTTP API', () => {
    expect(doc.openapi).to.equal('3.1.0');
    const routes = server.host.routes.filter((r) => r.protocol === 'http-api');
    expect(routes.length).to.be.at.least(15);
    for (const { route, path } of routes) {
      for (const template of templates(path)) {
        expect(doc.paths[template]?.[route.method.toLowerCase()], `${route.method} ${template}`).to.be.an('object');
      }
    }
  });

  it('names the query parameters a route takes — and the route refuses one it does not list', async () => {
    const content = doc.paths['/api/v1/resources/{id}/content']?.get;
    const names = content?.parameters.filter((p) => p.in === 'query').map((p) => p.name);
    expect(names).to.include.members(['follow', 'start', 'tail', 'download', 'token']);
    expect(names).to.not.include('count');
    const lines = doc.paths['/api/v1/resources/{id}/lines']?.get?.parameters.map((p) => p.name);
    expect(lines).to.include.members(['id', 'count', 'format']);
    const refused = await request(`${server.url}/api/v1/resources/x/content?count=1`);
    expect(refused.status).to.equal(400);
  });

  it('describes JSON bodies with the schemas the routes validate them with', async () => {
    const create = doc.paths['/api/v1/resources']?.post?.requestBody?.content['application/json']?.schema;
    expect(Object.keys(create?.properties ?? {})).to.include.members(['filename', 'mimeType', 'contextId', 'name']);
    const fail = doc.paths['/api/v1/resources/{id}/fail']?.post?.requestBody?.content['application/json']?.schema;
    expect(Object.keys(fail?.properties ?? {})).to.deep.equal(['reason']);
    // The same schema refuses what it does not describe.
    const created = await request(`${server.url}/api/v1/resources`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ filename: 'a.log', colour: 'red' }),
    });
    expect(created.status).to.equal(400);
  });
});
