export * from './close-codes.js';
export * from './errors.js';
export * from './media-types.js';
export * from './metadata.js';
export * from './status.js';
export * from './wire/spool.js';
export * from './wire/step.js';
