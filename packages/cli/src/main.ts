#!/usr/bin/env node
import { run } from './program.js';

// `spool cat … | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
process.exitCode = await run(process.argv.slice(2));
// Sockets a failed command left behind (a reconnecting client) must not keep it alive.
if (process.exitCode !== 0) process.exit(process.exitCode);
