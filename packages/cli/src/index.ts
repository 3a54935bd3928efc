export { CliError, describeFailure, EXIT, type ExitCode } from './exit-codes.js';
export { buildProgram, run } from './program.js';
export { browserUrl, parseRef, type ResourceRef } from './ref.js';
export { type ClientSettings, resolveSettings } from './settings.js';
