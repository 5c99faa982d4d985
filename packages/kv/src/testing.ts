import { Redis } from 'ioredis'

/**
 * Deletes every key under `prefix` on the Redis at `url` (SCAN, then UNLINK in batches) and
 * returns how many went; for tests that give a stack its own `REDIS_PREFIX` on a shared Redis
 * and clean up after it. Refuses an empty prefix: that would be the whole database.
 *
 * @example
 * after(() => deleteKeysWithPrefix(redisUrl, env.REDIS_PREFIX!))
 */
export async function deleteKeysWithPrefix(url: string, prefix: string): Promise<number> {
  if (!prefix) throw new Error('refusing to delete every key: the prefix is empty')
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  await client.connect()
  let deleted = 0
  try {
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
      cursor = next
      if (keys.length > 0) deleted += await client.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
  return deleted
}
