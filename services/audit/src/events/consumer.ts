import type { Kysely } from 'kysely'
import type { Bus, Subscription } from '@platform/bus'
import type { Logger } from '@platform/platform'
import { createBatcher } from '../domain/batcher.ts'
import { createChainWriter, type Delivery, type IngestResult } from '../domain/ingest.ts'
import type { AuditDatabase } from '../store/schema.ts'

/** The queue audit consumes, bound to every routing key of `platform.events`. */
export const AUDIT_QUEUE = 'audit.events'
/** Events appended per transaction at most. */
export const BATCH_SIZE_DEFAULT = 250
/** Unacked deliveries at once: two batches, so one fills while the other is written. */
export const PREFETCH_DEFAULT = 2 * BATCH_SIZE_DEFAULT
/** How long a lone event waits for others before its batch is written anyway. */
export const LINGER_MS_DEFAULT = 5

/** Counters of this consumer since it started; for tests, metrics and the benchmark. */
export type ConsumerStats = { delivered: number; stored: number; duplicates: number; batches: number; alerts: number; pending: number }

export type AuditConsumer = { stats(): ConsumerStats; close(): Promise<void> }

/**
 * Subscribes to every event and appends them to the chain in batches: the bus runs up to
 * `prefetch` handlers at once, each hands its event to the batcher and returns — so the broker
 * gets the ack — only after the batch's transaction committed. A crash before the commit leaves
 * the messages unacked, and the broker redelivers them; a crash after the commit but before the
 * ack redelivers events already stored, which the chain writer skips by id. Messages that are not
 * envelopes never reach the handler: the bus parks them in `audit.events.dlq`.
 */
export async function startAuditConsumer(opts: {
  bus: Bus
  db: Kysely<AuditDatabase>
  log: Logger
  /** Called after each committed batch that appended records or raised alerts. */
  onCommitted?: (result: IngestResult) => void
  batchSize?: number
  prefetch?: number
  lingerMs?: number
}): Promise<AuditConsumer> {
  const counters = { delivered: 0, stored: 0, duplicates: 0, batches: 0, alerts: 0 }
  const writer = createChainWriter(opts.db)
  const batcher = createBatcher<Delivery, 'stored' | 'duplicate'>({
    maxSize: opts.batchSize ?? BATCH_SIZE_DEFAULT,
    lingerMs: opts.lingerMs ?? LINGER_MS_DEFAULT,
    async flush(deliveries) {
      const result = await writer.write(deliveries)
      counters.batches++
      counters.stored += result.stored.length
      counters.duplicates += result.duplicates
      counters.alerts += result.alerts.length
      if (result.stored.length > 0 || result.alerts.length > 0) opts.onCommitted?.(result)
      const storedIds = new Set(result.stored.map((r) => r.id))
      // The first occurrence of an id in the batch is the one stored; later ones are duplicates.
      return deliveries.map((d) => (storedIds.delete(d.event.id) ? 'stored' : 'duplicate'))
    },
    onBatchError: (error, size) => opts.log.warn({ err: error, size }, 'audit batch failed; writing its events one by one'),
  })
  const subscription: Subscription = await opts.bus.subscribe(
    AUDIT_QUEUE,
    ['#'],
    async (event, meta) => {
      counters.delivered++
      // A redelivery (a consumer died before its ack) or a retry may find its event stored.
      await batcher.add({ event, maybeStored: meta.redelivered || meta.attempt > 1 })
    },
    { prefetch: opts.prefetch ?? PREFETCH_DEFAULT },
  )
  return {
    stats: () => ({ ...counters, pending: batcher.pending() }),
    async close() {
      await subscription.close()
      await batcher.drain()
    },
  }
}
