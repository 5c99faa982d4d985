import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import type { Kv } from '@platform/kv'
import { infraUrl } from '@platform/testkit'
import { startAuth, type RunningAuth } from '../src/start.ts'

export type TestAuth = {
  auth: RunningAuth
  /** The environment it was started with (its data dir and database), to start it again. */
  env: NodeJS.ProcessEnv
  restart(overrides?: NodeJS.ProcessEnv): Promise<void>
  stop(): Promise<void>
}

/**
 * The auth service alone on port 0, with a data dir (and, with DATABASE_URL, a PostgreSQL
 * database) of its own; it trusts one proxy hop, so tests set the client IP with X-Forwarded-For.
 */
export async function startTestAuth(overrides: NodeJS.ProcessEnv = {}, opts: { kv?: Kv } = {}): Promise<TestAuth> {
  const dataDir = await mkdtemp(join(tmpdir(), 'auth-test-'))
  const databaseUrl = infraUrl('DATABASE_URL')
  const authDatabaseUrl = databaseUrl ? uniqueDatabaseUrl(databaseUrl, 'auth_test') : undefined
  const env: NodeJS.ProcessEnv = {
    DATA_DIR: dataDir,
    AUTH_PORT: '0',
    LOG_LEVEL: 'silent',
    ...(authDatabaseUrl ? { AUTH_DATABASE_URL: authDatabaseUrl } : {}),
    ...overrides,
  }
  const cleanUp = async () => {
    if (authDatabaseUrl) await dropDatabase(authDatabaseUrl).catch(() => undefined)
    await rm(dataDir, { recursive: true, force: true })
  }
  let auth: RunningAuth
  try {
    auth = await startAuth({ env, kv: opts.kv })
  } catch (error) {
    await cleanUp()
    throw error
  }
  const running: TestAuth = {
    auth,
    env,
    async restart(more = {}) {
      await running.auth.stop()
      running.auth = await startAuth({ env: { ...env, ...more }, kv: opts.kv })
    },
    async stop() {
      await running.auth.stop()
      await cleanUp()
    },
  }
  return running
}

/** A JSON request to the service itself (not through the gateway). */
export async function call(
  auth: RunningAuth,
  method: string,
  path: string,
  opts: { json?: unknown; token?: string; ip?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${auth.url}${path}`, {
    method,
    headers: {
      ...(opts.json === undefined ? {} : { 'content-type': 'application/json' }),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      'x-forwarded-for': opts.ip ?? '203.0.113.50',
    },
    body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
  })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers }
}
