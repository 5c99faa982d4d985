/**
 * The URL of a real server for integration tests, read from the environment.
 *
 * Unset → `undefined`, so the suite that needs it is skipped. With `REQUIRE_INFRA=1` an unset
 * URL throws instead: CI must never pass by skipping the real-server runs (CONTRACT §1).
 *
 * @example
 * const url = infraUrl('REDIS_URL')
 * describeKvContract('redis', () => createRedisKv({ url: url! }), { skip: !url })
 */
export function infraUrl(
  name: 'DATABASE_URL' | 'REDIS_URL' | 'AMQP_URL',
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const value = env[name]
  if (value) return value
  if (env.REQUIRE_INFRA === '1') throw new Error(`${name} is not set but REQUIRE_INFRA=1 demands the real server`)
  return undefined
}

/** Polls `check` until it returns true or the deadline passes; events are awaited, never slept for. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 5000, intervalMs = 20, what = 'condition' } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
