export * from './packet.js';
export * from './parser.js';
export * from './status.js';
export * from './stream-header.js';
