import { MemoryHealthStore } from '../../../src/cluster/store/MemoryHealthStore';
import { healthStoreSuite } from './healthStoreSuite';

healthStoreSuite('MemoryHealthStore', async (options) => new MemoryHealthStore(options));
