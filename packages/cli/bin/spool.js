#!/usr/bin/env node
// The `spool` binary. A committed file, not dist/main.js itself: pnpm links bins at
// install time, before the first build has made dist/ (docs/cli.md).
await import('../dist/main.js');
