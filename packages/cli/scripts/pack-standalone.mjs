// Packs `spool` as one npm package that installs on its own (`npm i -g spool-cli-<v>.tgz`):
// the workspace packages (@spool/*) bundled into dist/ with esbuild, their third-party
// dependencies listed for npm to install, the web page's assets beside the bundle.
// Run after `pnpm run build`: `pnpm --filter @spool/cli pack:standalone`.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const packages = new URL('../../', import.meta.url);
const out = new URL('../standalone/', import.meta.url);
const manifest = (name) => JSON.parse(readFileSync(new URL(`${name}/package.json`, packages), 'utf8'));
const workspace = ['cli', 'server', 'common', 'client-upload', 'client-download', 'impl-websocket', 'impl-http', 'impl-hsp'];
const dependencies = {};
for (const name of workspace) {
  for (const [dep, range] of Object.entries(manifest(name).dependencies ?? {})) if (!dep.startsWith('@spool/')) dependencies[dep] = range;
}
rmSync(out, { recursive: true, force: true });
mkdirSync(new URL('dist/', out), { recursive: true });
await build({
  entryPoints: {
    main: new URL('cli/dist/main.js', packages).pathname,
    // Started as a worker by its URL beside the module that starts it.
    'hash-worker': new URL('server/dist/core/hashing/hash-worker.js', packages).pathname,
  },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  splitting: true,
  outdir: new URL('dist/', out).pathname,
  external: Object.keys(dependencies),
  logLevel: 'warning',
});
cpSync(new URL('web/dist/', packages), new URL('dist/web/', out), { recursive: true });
const cli = manifest('cli');
writeFileSync(
  new URL('package.json', out),
  `${JSON.stringify(
    {
      name: 'spool-cli',
      version: cli.version,
      description: cli.description,
      type: 'module',
      engines: { node: '>=20' },
      bin: { spool: './dist/main.js' },
      files: ['dist'],
      dependencies: Object.fromEntries(Object.entries(dependencies).sort()),
    },
    null,
    2,
  )}\n`,
);
const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', new URL('..', out).pathname], {
  cwd: out,
  encoding: 'utf8',
}).trim();
console.log(`packages/cli/${tarball}`);
