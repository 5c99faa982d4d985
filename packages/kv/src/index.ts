export { KvUnavailableError, type Kv } from './kv.ts'
export { createMemoryKv } from './memory-kv.ts'
export { createRedisKv, type RedisKvOptions } from './redis-kv.ts'
