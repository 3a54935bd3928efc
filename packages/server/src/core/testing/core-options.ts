import type { SpoolCoreOptions } from '../spool-core.js';

/** Core options for tests: quick checkpoints, sweeps only when a test calls them. */
export const TEST_CORE_OPTIONS: SpoolCoreOptions = {
  checkpointIntervalMs: 10,
  maxActiveUploads: 0,
  maxResourceBytes: 0,
  highWaterMarkBytes: 1024 * 1024,
  syncOnCheckpoint: false,
  maxLinesReplyBytes: 1024 * 1024,
  resumeGraceMs: 60_000,
  retentionMs: 0,
  sweepIntervalMs: 60_000,
};
