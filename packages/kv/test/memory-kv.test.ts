import { createMemoryKv } from '../src/index.ts'
import { describeKvContract } from '../src/kv.contract.ts'

describeKvContract('memory', async () => createMemoryKv())
