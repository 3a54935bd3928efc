/**
 * The tus peer: @tus/server with @tus/file-store (their standalone example) at `/files`,
 * storing uploads in the directory named by argv[2] (`<dir>/<id>`, `<id>.json`).
 */
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import { startPlainHttpServer } from './http-common.js';

const directory = process.argv[2];
if (!directory) throw new Error('usage: tus-server.js <directory>');

const tus = new Server({ path: '/files', datastore: new FileStore({ directory }) });
await startPlainHttpServer((request, response) => {
  void tus.handle(request, response);
});
