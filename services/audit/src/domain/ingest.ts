import type { Kysely } from 'kysely'
import type { EventEnvelope } from '@platform/bus'
import { inTransaction } from '@platform/db'
import { lockChainHead } from '../store/chain-head.ts'
import { appendRecords, existingIds, isDeadlock, isUniqueViolation } from '../store/records.ts'
import type { AuditDatabase } from '../store/schema.ts'
import { FAILED_LOGIN_ACTION, raiseFailedLoginAlerts } from './alerts.ts'
import type { ChainAnchor } from './chain.ts'
import { buildRecord, type AuditRecord } from './record.ts'

/** What one batch did: records appended, events skipped as already stored, alerts raised. */
export type IngestResult = { stored: AuditRecord[]; duplicates: number; alerts: EventEnvelope[]; head: ChainAnchor }

/** An event to record, and whether the broker may have delivered it before (then it may be stored). */
export type Delivery = { event: EventEnvelope; maybeStored: boolean }

/** After a collision with another writer, batches take the head lock for this long. */
const CONTENDED_MS = 2_000

/**
 * Appends batches of events to the hash chain, idempotently by event id, correct with any number
 * of replicas writing at once. Two ways to append, both one transaction per batch:
 *
 * - **Fast path** (the common case: this replica is the only one writing, the events are fresh,
 *   none is a failed login): chain the batch onto the head this writer last saw and append it in
 *   one statement — one round trip. The statement is a compare-and-set (`appendRecords`): if the
 *   head moved, or an event is stored already, it fails whole and nothing is written.
 * - **Locked path** (the first batch, a collision, a redelivery, failed logins, or within 2 s of
 *   a collision): lock the head row (`SELECT … FOR UPDATE`), skip ids already stored, chain,
 *   append, raise the failed-login alerts into the outbox, commit. Writers queue on the lock.
 *
 * A fast-path append and another writer's locked path can deadlock (each has inserted or locked
 * what the other needs); PostgreSQL ends one of them, and that one counts as a collision: the
 * batch goes (again) through the locked path, instead of failing and being written event by event.
 *
 * Either way there is exactly one record per seq, each chained to the one before: a fork would
 * need two records with one seq. Records become visible in seq order, because the seq primary
 * key makes a later batch wait for an earlier uncommitted one (the record relay relies on this).
 */
export function createChainWriter(db: Kysely<AuditDatabase>, opts: { now?: () => number } = {}) {
  const now = opts.now ?? Date.now
  let head: ChainAnchor | undefined
  let contendedUntil = 0

  async function write(deliveries: readonly Delivery[]): Promise<IngestResult> {
    const fast = head !== undefined && now() >= contendedUntil && deliveries.every((d) => !d.maybeStored && d.event.type !== FAILED_LOGIN_ACTION)
    if (fast) {
      try {
        const result = await appendFast(db, deliveries, head!, new Date(now()))
        head = result.head
        return result
      } catch (error) {
        head = undefined
        // Another writer appended at the same head: go the locked path, which waits for it.
        if (!isUniqueViolation(error) && !isDeadlock(error)) throw error
        contendedUntil = now() + CONTENDED_MS
      }
    }
    try {
      const result = await recordEvents(db, deliveries).catch((error: unknown) => {
        // The other side of such a deadlock (a fast-path writer of another replica) is ended by
        // now, and nothing of this transaction was written: one more try takes the head in turn.
        if (isDeadlock(error)) return recordEvents(db, deliveries)
        throw error
      })
      head = result.head
      return result
    } catch (error) {
      head = undefined
      throw error
    }
  }

  return { write }
}

async function appendFast(db: Kysely<AuditDatabase>, deliveries: readonly Delivery[], from: ChainAnchor, recordedAt: Date): Promise<IngestResult> {
  const { stored, head } = chain(deliveries, from, recordedAt, new Set())
  await appendRecords(db, stored, from)
  return { stored, duplicates: deliveries.length - stored.length, alerts: [], head }
}

/**
 * The locked path: one transaction that locks the chain head, skips events already stored,
 * appends the rest, and raises the failed-login alerts they call for.
 */
export async function recordEvents(db: Kysely<AuditDatabase>, deliveries: readonly Delivery[]): Promise<IngestResult> {
  return inTransaction(db, async (trx) => {
    const locked = await lockChainHead(trx)
    const known = await existingIds(trx, [...new Set(deliveries.map((d) => d.event.id))])
    const { stored, head } = chain(deliveries, locked.last, locked.now, known)
    if (stored.length > 0) await appendRecords(trx, stored, locked.last)
    const alerts = await raiseFailedLoginAlerts(trx, stored)
    return { stored, duplicates: deliveries.length - stored.length, alerts, head }
  })
}

/** Hashes the events not in `skip` (and not repeated in the batch) onto `from`, in order. */
function chain(deliveries: readonly Delivery[], from: ChainAnchor, recordedAt: Date, skip: Set<string>): { stored: AuditRecord[]; head: ChainAnchor } {
  const seen = new Set(skip)
  const stored: AuditRecord[] = []
  let previous = from
  for (const { event } of deliveries) {
    if (seen.has(event.id)) continue
    seen.add(event.id)
    const record = buildRecord(event, previous.seq + 1, recordedAt, previous.hash)
    stored.push(record)
    previous = { seq: record.seq, hash: record.hash }
  }
  return { stored, head: previous }
}
