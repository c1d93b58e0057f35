import { storeContract } from './contract.js';
import { memoryHarness } from './helpers.js';

storeContract('MemoryStore', (options) => memoryHarness(options), { reopens: false });
