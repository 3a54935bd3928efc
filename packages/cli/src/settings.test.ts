import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { CliError } from './exit-codes.js';
import { DEFAULT_SERVER, resolveSettings } from './settings.js';

describe('resolveSettings', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-cli-settings-'));
  const config = path.join(dir, 'cli.json');
  writeFileSync(config, JSON.stringify({ server: 'http://from-file:1', token: 'file-token' }));
  const none = { XDG_CONFIG_HOME: path.join(dir, 'none') };

  it('defaults to the local server without a token', () => {
    expect(resolveSettings({}, none)).to.deep.equal({ server: DEFAULT_SERVER, token: undefined });
  });

  it('takes flags over the environment over the config file', () => {
    const env = { SPOOL_CLI_CONFIG: config };
    expect(resolveSettings({}, env)).to.deep.equal({ server: 'http://from-file:1', token: 'file-token' });
    expect(resolveSettings({}, { ...env, SPOOL_SERVER: 'http://from-env:2/', SPOOL_TOKEN: 'env-token' })).to.deep.equal({
      server: 'http://from-env:2',
      token: 'env-token',
    });
    expect(resolveSettings({ server: 'ws://flag:3/prefix/', token: 'flag-token' }, env)).to.deep.equal({
      server: 'http://flag:3/prefix',
      token: 'flag-token',
    });
  });

  it('refuses a missing named config file, a bad one and a server that is no URL', () => {
    expect(() => resolveSettings({}, { SPOOL_CLI_CONFIG: path.join(dir, 'missing.json') })).to.throw(CliError, /cannot read config file/);
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"token": 5}');
    expect(() => resolveSettings({}, { SPOOL_CLI_CONFIG: bad })).to.throw(CliError, /"token" must be a string/);
    expect(() => resolveSettings({ server: 'nowhere' }, none)).to.throw(CliError, /not a URL/);
    expect(() => resolveSettings({ server: 'ftp://h' }, none)).to.throw(CliError, /http/);
  });
});
