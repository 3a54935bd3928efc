import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from './load.js';
import { ConfigSchema, parseOctalMode } from './schema.js';

describe('loadConfig', () => {
  it('has defaults that start an embedded server with nothing else', () => {
    const config = loadConfig();
    expect(config).to.include({ host: '127.0.0.1', port: 8080, dataDir: './data', checkpointIntervalMs: 100, maxResourceBytes: 0 });
    expect(config.publicUrl).to.equal(undefined);
  });

  it('layers file < environment < flags < overrides', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-config-'));
    const file = path.join(dir, 'spool.json');
    writeFileSync(file, JSON.stringify({ port: 1000, dataDir: '/from/file', logLevel: 'debug', checkpointIntervalMs: 7 }));
    const config = loadConfig({
      env: { SPOOL_CONFIG: file, SPOOL_PORT: '2000', SPOOL_DATA_DIR: '/from/env', SPOOL_SYNC_ON_CHECKPOINT: 'true' },
      argv: ['--port', '3000'],
      overrides: { checkpointIntervalMs: 9 },
    });
    expect(config).to.include({ port: 3000, dataDir: '/from/env', logLevel: 'debug', checkpointIntervalMs: 9, syncOnCheckpoint: true });
  });

  it('takes the HSP port as a number, 0, or off', () => {
    expect(loadConfig().hspPort).to.equal(9998);
    expect(loadConfig({ env: { SPOOL_HSP_PORT: '0' } }).hspPort).to.equal(0);
    expect(loadConfig({ argv: ['--hsp-port', 'off'] }).hspPort).to.equal('off');
    expect(() => loadConfig({ env: { SPOOL_HSP_PORT: 'of' } })).to.throw(ConfigError, /hspPort/);
    expect(() => loadConfig({ env: { SPOOL_HSP_PORT: '65536' } })).to.throw(ConfigError, /hspPort/);
  });

  it('names every bad value', () => {
    expect(() => loadConfig({ env: { SPOOL_PORT: '70000', SPOOL_PUBLIC_URL: 'ftp://x' } }))
      .to.throw(ConfigError)
      .with.property('message')
      .that.matches(/port: .*; publicUrl: /);
  });

  it('takes permission modes as octal strings that let the server use its own data', () => {
    const config = loadConfig({ env: { SPOOL_DATA_FILE_MODE: '640' }, argv: ['--data-dir-mode', '0o750'] });
    expect([parseOctalMode(config.dataFileMode), parseOctalMode(config.dataDirMode)]).to.deep.equal([0o640, 0o750]);
    expect([parseOctalMode(loadConfig().dataFileMode), parseOctalMode(loadConfig().dataDirMode)]).to.deep.equal([0o600, 0o700]);
    expect(() => loadConfig({ env: { SPOOL_DATA_FILE_MODE: '0688' } })).to.throw(ConfigError, /dataFileMode: must be an octal mode/);
    expect(() => loadConfig({ env: { SPOOL_DATA_FILE_MODE: '0400' } })).to.throw(
      ConfigError,
      /dataFileMode: must give the owner at least 600/,
    );
    expect(() => loadConfig({ env: { SPOOL_DATA_DIR_MODE: '0600' } })).to.throw(
      ConfigError,
      /dataDirMode: must give the owner at least 700/,
    );
  });

  it('refuses unknown flags and unknown keys in a config file', () => {
    expect(() => loadConfig({ argv: ['--prot', '1'] })).to.throw(ConfigError, /Unknown option '--prot'/);
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-config-'));
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    expect(() => loadConfig({ argv: ['--config', file] })).to.throw(ConfigError, /prot/);
    writeFileSync(file, '[1]');
    expect(() => loadConfig({ argv: ['-c', file] })).to.throw(ConfigError, /not a JSON object/);
  });

  it('documents every setting in docs/configuration.md, with its environment variable', () => {
    const doc = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
    for (const key of Object.keys(ConfigSchema.shape)) {
      const env = `SPOOL_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
      expect(doc, key).to.include(`| ${key} | ${env} |`);
    }
  });
});
