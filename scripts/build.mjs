#!/usr/bin/env node
// `pnpm run build` (and `pnpm start` before it runs the server): every TypeScript package
// (tsc -b), then the web page — type-checked against the DOM, bundled with esbuild into
// packages/web/dist, which the server serves at /.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const steps = [[tsc, '-b'], [tsc, '-p', 'packages/web'], ['packages/web/build.mjs']];
for (const args of steps) {
  const step = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (step.status !== 0) process.exit(step.status ?? 1);
}
