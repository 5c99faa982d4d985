import type { Kysely } from 'kysely'
import type { Kv } from '@platform/kv'
import { AppError, type Logger } from '@platform/platform'
import { checkRevocation, revocationKeys, type RevocationReader, type RevocationVerdict } from '@platform/tokens'
import { insertRevocations, listLiveRevocations, type RevocationRecord } from '../store/revocations.ts'
import type { AuthDatabase, RevocationRow } from '../store/schema.ts'
import type { Executor } from '@platform/db'

const PAGE = 1000
/** Revocations younger than this are pushed again on every sync: cheap insurance against a missed write. */
const RECENT_WINDOW_MS = 120_000

export type RevocationList = {
  /** Writes revocations to PostgreSQL inside the caller's transaction (the record). */
  record(trx: Executor<AuthDatabase>, records: readonly RevocationRecord[]): Promise<void>
  /** Copies committed revocations to the store; on failure the next sync restores everything. */
  publish(records: readonly RevocationRecord[]): Promise<void>
  /** Restores the store from PostgreSQL if it came back empty, else re-pushes recent ones. */
  sync(): Promise<void>
  check(claims: { jti: string; sid: string; sub: string; iat: number }): Promise<RevocationVerdict>
  /** The store view token checks read (`checkRevocation`, `verifyBearerToken`). */
  reader: RevocationReader
  /** Current not-before instants (seconds) for a user, to issue tokens after them. */
  notBefore(userId: string): Promise<number>
  start(intervalMs?: number): void
  stop(): void
}

function toEntry(r: { kind: RevocationRecord['kind']; value: string; data: string; expiresAt: Date }) {
  const key =
    r.kind === 'jti'
      ? revocationKeys.tokenId(r.value)
      : r.kind === 'session'
        ? revocationKeys.session(r.value)
        : r.kind === 'user_nbf'
          ? revocationKeys.userNotBefore(r.value)
          : revocationKeys.globalNotBefore()
  return { key, value: r.data, ttlMs: Math.max(1, r.expiresAt.getTime() - Date.now()) }
}

const rowToRecord = (row: RevocationRow): RevocationRecord => ({
  kind: row.kind,
  value: row.value,
  data: row.data,
  expiresAt: new Date(row.expires_at),
})

/**
 * The revocation lists: PostgreSQL is the record, the key-value store the fast copy the gateway
 * reads. If the store loses its keys (Redis restarted without persistence, a failover, FLUSHALL)
 * the `ready` marker is gone too, every check answers `unknown` (callers fail closed), and the
 * next sync restores the lists before setting the marker again: a revoked token never returns.
 */
export function createRevocationList(deps: { db: Kysely<AuthDatabase>; kv: Kv; log: Logger }): RevocationList {
  let needsFullRestore = true
  let timer: NodeJS.Timeout | undefined
  let syncing: Promise<void> | undefined

  async function push(rows: readonly RevocationRecord[]): Promise<void> {
    if (rows.length) await deps.kv.setMany(rows.map(toEntry))
  }

  async function restoreAll(): Promise<number> {
    let after = '0'
    let count = 0
    for (;;) {
      const rows = await listLiveRevocations(deps.db, after, new Date(), PAGE)
      await push(rows.map(rowToRecord))
      count += rows.length
      if (rows.length < PAGE) return count
      after = rows[rows.length - 1]!.seq
    }
  }

  async function syncOnce(): Promise<void> {
    try {
      const ready = await deps.kv.get(revocationKeys.ready())
      if (!ready || needsFullRestore) {
        const count = await restoreAll()
        await deps.kv.set(revocationKeys.ready(), new Date().toISOString())
        if (!ready) deps.log.info({ restored: count }, 'revocation lists loaded into the store from PostgreSQL')
        needsFullRestore = false
        return
      }
      const recent = await deps.db
        .selectFrom('revocations')
        .selectAll()
        .where('created_at', '>', new Date(Date.now() - RECENT_WINDOW_MS))
        .where('expires_at', '>', new Date())
        .orderBy('seq')
        .execute()
      await push(recent.map(rowToRecord))
    } catch (error) {
      needsFullRestore = true
      deps.log.warn({ err: error }, 'revocation sync failed; will restore in full when the store is back')
    }
  }

  return {
    record: (trx, records) => insertRevocations(trx, records),
    async publish(records) {
      try {
        await push(records)
      } catch (error) {
        needsFullRestore = true
        deps.log.warn({ err: error }, 'revocation not copied to the store yet; the sync will')
      }
    },
    sync() {
      syncing ??= syncOnce().finally(() => {
        syncing = undefined
      })
      return syncing
    },
    check: (claims) => checkRevocation(deps.kv, claims),
    reader: deps.kv,
    async notBefore(userId) {
      let values: (string | null)[]
      try {
        values = await deps.kv.mget([revocationKeys.userNotBefore(userId), revocationKeys.globalNotBefore()])
      } catch (error) {
        // Without these instants a token could be born before a revocation: 503, never a guess.
        throw new AppError('dependency_unavailable', 'Revocation lists are unreachable', { cause: error })
      }
      const [user, global] = values
      return Math.max(Number(user ?? 0), Number(global ?? 0))
    },
    start(intervalMs = 500) {
      timer = setInterval(() => void this.sync(), intervalMs)
      timer.unref()
    },
    stop() {
      clearInterval(timer)
    },
  }
}
