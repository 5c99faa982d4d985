import { inTransaction } from '@platform/db'
import type { Kysely } from 'kysely'
import type { Bus } from '@platform/bus'
import { errorMessage } from '../jobs/errors.ts'
import { recordsAfter } from '../store/records.ts'
import type { AuditDatabase } from '../store/schema.ts'
import { createPollLoop } from '@platform/platform'

/** The durable topic exchange every stored record is republished on (CONTRACT §8). */
export const RECORDS_EXCHANGE = 'audit.records'
const BATCH_SIZE_DEFAULT = 500
const IDLE_MS_DEFAULT = 200
const RETRY_MAX_MS = 30_000

export type RecordRelay = {
  start(): void
  stop(): Promise<void>
  /** Publishes the next batch of unpublished records; returns how many went out. */
  flushOnce(): Promise<number>
  notify(): void
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

  async function flushOnce(): Promise<number> {
    const outcome = await inTransaction(opts.db, async (trx): Promise<{ published: number; error?: string | undefined }> => {
      const cursor = await trx.selectFrom('audit_record_relay').select('relayed_seq').where('id', '=', 1).forUpdate().skipLocked().executeTakeFirst()
      if (!cursor) return { published: 0 }
      const records = await recordsAfter(trx, Number(cursor.relayed_seq), { limit: batchSize })
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

  const loop = createPollLoop({
    idleMs,
    maxBackoffMs: RETRY_MAX_MS,
    tick: async () => ({ more: (await flushOnce()) === batchSize }),
    onError: (error, failures) => opts.log?.warn({ err: errorMessage(error), failures }, 'audit.records relay failed; retrying'),
  })

  return {
    start: loop.start,
    stop: loop.stop,
    flushOnce,
    notify: loop.notify,
  }
}
