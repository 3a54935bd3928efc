/**
 * `@spool/server/testing`: kits of this repository's own tests (engines to test against,
 * a disk that fills up). Not published: the packed package has no such subpath.
 */
export { freshPostgresDatabase, freshRedisPrefix, TEST_POSTGRES_URL, TEST_REDIS_URL } from './core/testing/engines.js';
export { catalogFullError, FullDisk, noSpaceError } from './core/testing/full-disk.js';
