export * from './download-client.js';
export * from './line-splitter.js';
export * from './remote-resource.js';
export * from './resource-read-stream.js';
export * from './settle-once.js';
export * from './status-tracker.js';
export * from './transport.js';
