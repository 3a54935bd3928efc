/**
 * Preloaded into the Spool server process (`node --import <this> cli.js`): reports on
 * stderr whether the server's WebSocket unmasking uses the native `bufferutil` addon.
 * The module is the very instance the server then uses (same file URL, same process).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface UnmaskModule {
  nativeUnmaskAvailable: boolean;
}

const serverEntry = createRequire(import.meta.url).resolve('@spool/server');
const unmaskUrl = pathToFileURL(path.join(path.dirname(serverEntry), 'transport', 'websocket', 'unmask.js')).href;
try {
  const unmask = (await import(unmaskUrl)) as UnmaskModule;
  process.stderr.write(`${JSON.stringify({ probe: 'spool-unmask', nativeUnmaskAvailable: unmask.nativeUnmaskAvailable })}\n`);
} catch (error) {
  process.stderr.write(`${JSON.stringify({ probe: 'spool-unmask', error: (error as Error).message })}\n`);
}
