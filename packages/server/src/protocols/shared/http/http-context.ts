import type { Logger } from 'winston';
import type { SpoolConfig } from '../../../config/schema.js';
import type { SpoolCore } from '../../../core/spool-core.js';

/** What the HTTP protocols' upload routes work with (the HTTP API, tus). */
export interface HttpContext {
  core: SpoolCore;
  config: SpoolConfig;
  logger: Logger;
}
