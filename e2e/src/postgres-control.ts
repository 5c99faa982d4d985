import { execFile, spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import pg from 'pg'
import { waitUntil } from '@platform/testkit'

// The Debian cluster tools (postgresql-common); PG_CTLCLUSTER names another.
const CTL = process.env.PG_CTLCLUSTER ?? 'pg_ctlcluster'
const COMMAND_TIMEOUT_MS = 60_000
const BACK_WITHIN_MS = 60_000
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

/** The one cluster `pg_ctlcluster` manages here (`/etc/postgresql/<version>/main`), if there is exactly one. */
function clusterVersion(): string | undefined {
  try {
    const versions = readdirSync('/etc/postgresql')
    return versions.length === 1 ? versions[0] : undefined
  } catch {
    return undefined
  }
}

function run(args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile(CTL, ['--skip-systemctl-redirect', clusterVersion() ?? '', 'main', ...args], { timeout: COMMAND_TIMEOUT_MS }, (error, stdout, stderr) =>
      resolve({ ok: !error, output: `${stdout}${stderr}`.trim() || (error?.message ?? '') }),
    )
  })
}

/**
 * Why the PostgreSQL at `databaseUrl` cannot be stopped and started from here, or undefined when
 * it can: it must be this machine's one Debian cluster, and `pg_ctlcluster … status` must see it.
 */
export async function whyPostgresIsNotControllable(databaseUrl: string): Promise<string | undefined> {
  const host = new URL(databaseUrl).hostname
  if (!LOOPBACK.has(host)) return `DATABASE_URL points at ${host}, not at a server on this machine`
  if (!clusterVersion()) return 'not exactly one cluster under /etc/postgresql'
  const status = await run(['status'])
  return status.ok ? undefined : `${CTL} status failed: ${status.output.slice(0, 300)}`
}

/** Whether {@link stopPostgres} ran and {@link startPostgres} has not brought it back yet. */
let stopped = false

/** A fast shutdown: open connections are ended at once, transactions in flight roll back. */
export async function stopPostgres(): Promise<void> {
  stopped = true
  const result = await run(['stop', '-m', 'fast'])
  if (!result.ok) throw new Error(`${CTL} stop failed: ${result.output}`)
}

/**
 * Starts the cluster and waits until `databaseUrl` takes a query. Safe to call when it runs:
 * after hooks call it whatever happened.
 */
export async function startPostgres(databaseUrl: string): Promise<void> {
  const status = await run(['status'])
  if (!status.ok) {
    const result = await run(['start'])
    if (!result.ok) throw new Error(`${CTL} start failed: ${result.output}`)
  }
  await waitUntil(
    async () => {
      const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 1000 })
      client.on('error', () => undefined)
      try {
        await client.connect()
        await client.query('select 1')
        return true
      } catch {
        return false
      } finally {
        await client.end().catch(() => undefined)
      }
    },
    { timeoutMs: BACK_WITHIN_MS, intervalMs: 250, what: 'PostgreSQL to take queries again' },
  )
  stopped = false
}

// A test process stopped by a signal never reaches its after hooks: the shared server must not stay down.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopped) spawnSync(CTL, ['--skip-systemctl-redirect', clusterVersion() ?? '', 'main', 'start'], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS })
    process.kill(process.pid, signal)
  })
}
