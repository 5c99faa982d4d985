import { inTransaction } from '@platform/db'
import type { Kysely } from 'kysely'
import type { Bus } from '@platform/bus'
import { errorMessage } from '../jobs/errors.ts'
import type { AuditRecord } from '../domain/record.ts'
import { recordsAfter } from '../store/records.ts'
import type { AuditDatabase } from '../store/schema.ts'
import { createPollLoop } from '@platform/platform'

/** The durable topic exchange every stored record is republished on (CONTRACT §8). */
export const RECORDS_EXCHANGE = 'audit.records'
const BATCH_SIZE_DEFAULT = 500
// Every stored batch wakes the relay (`stored`), so the idle poll only finds what nothing woke it for.
const IDLE_MS_DEFAULT = 1_000
/** Back-off after failed batches: this × 2^failures, up to RETRY_MAX_MS. */
const FAILED_BATCH_RETRY_MS = 200
const RETRY_MAX_MS = 30_000
/** Records kept from `stored` for the next rounds; beyond this the oldest are read back instead. */
const KEPT_MAX = 4 * BATCH_SIZE_DEFAULT

export type RecordRelay = {
  start(): void
  stop(): Promise<void>
  /** Publishes the next batch of unpublished records; returns how many went out. */
  flushOnce(): Promise<number>
  notify(): void
  /** Records this process has just committed, in seq order: published without being read back. */
  stored(records: readonly AuditRecord[]): void
}

/**
 * The outbox of `audit.records`, without an outbox table: records are gap-free and become
 * visible in seq order, so one cursor row (`audit_record_relay.relayed_seq`) says exactly what is
 * left to publish. Each round locks the cursor (`FOR UPDATE SKIP LOCKED`: one replica relays at a
 * time, the others skip), publishes the next records with publisher confirms, routing key = the
 * record's `action`, body = the record's JSON, and advances the cursor past the longest prefix
 * the broker confirmed, in the same transaction. Nothing is lost if the broker is down (the
 * cursor stays) and a crash between confirm and commit republishes a few records: consumers
 * deduplicate by `id` (or `seq`).
 *
 * What this process's chain writer committed is handed over through `stored` and kept in memory
 * (a bounded run of consecutive seqs); a round whose next records are all there publishes them
 * from memory and reads nothing back. Anything else (another replica's records, a run older than
 * what is kept, a restart) is read from the table, as before.
 */
export function createRecordRelay(opts: {
  db: Kysely<AuditDatabase>
  bus: Pick<Bus, 'publishRaw'>
  log?: { warn(obj: object, msg?: string): void }
  batchSize?: number
  idleMs?: number
}): RecordRelay {
  const batchSize = opts.batchSize ?? BATCH_SIZE_DEFAULT
  const idleMs = opts.idleMs ?? IDLE_MS_DEFAULT
  // A run of consecutive seqs this process committed, oldest first.
  let kept: AuditRecord[] = []

  /** The next records after `relayed`, if they are all kept; drops those published already. */
  function keptAfter(relayed: number): AuditRecord[] | undefined {
    const first = kept[0]
    if (first && first.seq <= relayed) kept = kept.slice(Math.min(kept.length, relayed + 1 - first.seq))
    return kept[0]?.seq === relayed + 1 ? kept.slice(0, batchSize) : undefined
  }

  async function flushOnce(): Promise<number> {
    const outcome = await inTransaction(opts.db, async (trx): Promise<{ published: number; error?: string | undefined }> => {
      const cursor = await trx.selectFrom('audit_record_relay').select('relayed_seq').where('id', '=', 1).forUpdate().skipLocked().executeTakeFirst()
      if (!cursor) return { published: 0 }
      const relayed = Number(cursor.relayed_seq)
      const records = keptAfter(relayed) ?? (await recordsAfter(trx, relayed, { limit: batchSize }))
      if (records.length === 0) return { published: 0 }
      const results = await Promise.allSettled(records.map((r) => opts.bus.publishRaw(r.action, JSON.stringify(r), { exchange: RECORDS_EXCHANGE })))
      const firstFailure = results.findIndex((r) => r.status === 'rejected')
      const confirmed = firstFailure === -1 ? records.length : firstFailure
      if (confirmed > 0) await trx.updateTable('audit_record_relay').set({ relayed_seq: records[confirmed - 1]!.seq }).where('id', '=', 1).execute()
      // The cursor moves past what was confirmed even when a later publish failed: commit, then report.
      const failed = results[firstFailure] as PromiseRejectedResult | undefined
      return { published: confirmed, error: failed && `audit.records publish failed after ${confirmed} of ${records.length}: ${errorMessage(failed.reason)}` }
    })
    if (outcome.error) throw new Error(outcome.error)
    return outcome.published
  }

  function stored(records: readonly AuditRecord[]): void {
    const first = records[0]
    if (!first) return
    const last = kept[kept.length - 1]
    // Another writer's records in between break the run: start a new one (the gap is read back).
    kept = last && last.seq + 1 === first.seq ? kept.concat(records) : [...records]
    if (kept.length > KEPT_MAX) kept = kept.slice(kept.length - KEPT_MAX)
    loop.notify()
  }

  const loop = createPollLoop({
    idleMs,
    backoffBaseMs: FAILED_BATCH_RETRY_MS,
    maxBackoffMs: RETRY_MAX_MS,
    tick: async () => ({ more: (await flushOnce()) === batchSize }),
    onError: (error, failures) => opts.log?.warn({ err: errorMessage(error), failures }, 'audit.records relay failed; retrying'),
  })

  return {
    start: loop.start,
    stop: loop.stop,
    flushOnce,
    notify: loop.notify,
    stored,
  }
}
