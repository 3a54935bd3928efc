#!/usr/bin/env node
// `pnpm start`: builds, then runs the server in this same process. With `build && node …`
// in the script, a shell stood between pnpm and the server: `kill -TERM` on the pnpm
// process stopped pnpm and the shell, and left the server running, orphaned. Here the
// process pnpm starts is the server, so a signal to pnpm (which passes it on to its
// child) or to this process shuts the server down gracefully.
import { spawnSync } from 'node:child_process';

const build = spawnSync(process.execPath, [new URL('build.mjs', import.meta.url).pathname], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
await import('../packages/server/dist/cli.js');
