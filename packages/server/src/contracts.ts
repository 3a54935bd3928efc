/**
 * `@spool/server/contracts`: the suites every Catalog, ByteStore and EventBus must pass,
 * for an implementation outside this repository. They are mocha suites (`describe`/`it`
 * as globals) asserting with chai — both optional peer dependencies, needed only here:
 *
 *   import { catalogContract } from '@spool/server/contracts';
 *   catalogContract('my catalog', async () => new MyCatalog(...));   // in a mocha test file
 */
export { catalogContract } from './core/catalog/catalog.contract.js';
export { eventBusContract } from './core/events/event-bus.contract.js';
export { byteStoreContract, fencedByteStoreContract } from './core/storage/byte-store.contract.js';
