import { eventBusContract } from './event-bus.contract.js';
import { MemoryEventBus } from './memory-event-bus.js';

eventBusContract('MemoryEventBus', async () => new MemoryEventBus());
