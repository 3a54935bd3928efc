export * from './frames.js';
export * from './growing-file.js';
export * from './progress.js';
export * from './transcode.js';
export * from './types.js';
export * from './upload-metadata.js';
export * from './upload-source.js';
