/** The piping-server peer: the npm package's own handler (`Server.generateHandler`) on a plain node:http server, no logger. */
import { Server } from 'piping-server';
import { startPlainHttpServer } from './http-common.js';

const handler = new Server().generateHandler(false);
await startPlainHttpServer((request, response) => handler(request, response));
