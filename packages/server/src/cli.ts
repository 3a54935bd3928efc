#!/usr/bin/env node
import { configHelp, wantsHelp } from './config/load.js';
import { serveUntilSignal } from './serve.js';

// `pnpm start -- --port 9000` passes the `--` through: it separates nothing here.
const argv = process.argv.slice(2).filter((arg, index) => !(index === 0 && arg === '--'));
if (wantsHelp(argv)) {
  process.stdout.write(`${configHelp()}\n`);
  process.exit(0);
}
await serveUntilSignal('spool-server', argv, process.env);
