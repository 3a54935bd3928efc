import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ConfigError, loadConfig } from './config/load.js';
import { freshTempDir } from './core/testing/temp-dirs.js';
import { startServer } from './server.js';

const run = promisify(execFile);

describe('Backends chosen by config', () => {
  it('the embedded default never loads pg or ioredis', async () => {
    // A fresh process: starts an embedded server, then lists the CommonJS modules it loaded.
    const script = `
      import { createRequire } from 'node:module';
      const { startServer } = await import(${JSON.stringify(new URL('./server.js', import.meta.url).href)});
      const server = await startServer({ port: 0, dataDir: ${JSON.stringify(freshTempDir('embedded'))}, logLevel: 'error' });
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      await server.close();
      console.log(JSON.stringify(loaded.filter((file) => /[\\\\/](pg|pg-pool|ioredis)[\\\\/]/.test(file))));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout.trim())).to.deep.equal([]);
  });

  it('names the URL a cluster engine needs, and refuses PostgreSQL bytes without the PostgreSQL catalog', () => {
    const err = (() => {
      try {
        loadConfig({ env: {}, argv: [], overrides: { catalog: 'postgres', events: 'redis', bytes: 'postgres' } });
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(err).to.be.instanceOf(ConfigError);
    expect(err?.message).to.match(/databaseUrl: required with catalog or bytes postgres \(SPOOL_DATABASE_URL\)/);
    expect(err?.message).to.match(/redisUrl: required with events redis/);
    expect(() => loadConfig({ env: {}, argv: [], overrides: { bytes: 'postgres', databaseUrl: 'postgres://x@127.0.0.1/db' } })).to.throw(
      ConfigError,
      /bytes postgres needs catalog postgres/,
    );
  });

  it('stops the start with a message naming an engine it cannot reach (password hidden)', async () => {
    const dataDir = freshTempDir('unreachable');
    const pgDown = (await startServer({
      port: 0,
      dataDir,
      logLevel: 'error',
      catalog: 'postgres',
      databaseUrl: 'postgres://spool:secret@127.0.0.1:1/spool',
    }).catch((e: unknown) => e)) as Error;
    expect(pgDown.message).to.match(/^Cannot use PostgreSQL at postgres:\/\/spool:\*\*\*@127\.0\.0\.1:1\/spool: /);
    const redisDown = (await startServer({ port: 0, dataDir, logLevel: 'error', events: 'redis', redisUrl: 'redis://127.0.0.1:1' }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(redisDown.message).to.match(/^Cannot use Redis at redis:\/\/127\.0\.0\.1:1/);
  });
});
