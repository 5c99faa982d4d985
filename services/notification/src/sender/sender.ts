import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Logger } from '@platform/platform'
import { afterFailure, type RetryPolicy } from '../domain/backoff.ts'
import type { OutgoingMail } from '../domain/compose-mail.ts'
import { describeSendError } from '../mail/describe-error.ts'
import type { Mailer } from '../mail/mailer.ts'
import { claimDueDeliveries, markFailed, markSent, releaseClaims } from '../store/deliveries.ts'
import type { DeliveryRow, NotificationDatabase } from '../store/schema.ts'
import { createPollLoop, isDependencyOutage } from '@platform/platform'

const BATCH_SIZE_DEFAULT = 20
const CONCURRENCY_DEFAULT = 4
// Longer than one attempt can take (connect 10 s + greeting 10 s + socket idle 30 s, with margin):
// a delivery is only picked up by another sender once its holder must have given up or died.
const LEASE_MS_DEFAULT = 120_000
const RECORD_RETRY_FIRST_MS = 100
const RECORD_RETRY_MAX_MS = 2_000

export type SenderOptions = {
  db: Kysely<NotificationDatabase>
  mailer: Mailer
  compose(delivery: DeliveryRow): OutgoingMail
  log: Logger
  policy: RetryPolicy
  /** Poll interval while nothing is due and nothing woke the loop. */
  pollMs: number
  batchSize?: number
  concurrency?: number
  leaseMs?: number
}

/** Outcome of one claimed batch. */
export type SendResult = { claimed: number; sent: number; failed: number; dead: number }

export type Sender = {
  /** Starts the background loop; idempotent. */
  start(): void
  /** Stops the loop after the batch in progress; idempotent. */
  stop(): Promise<void>
  /** Wakes the loop at once, e.g. after a consumed event recorded deliveries. */
  notify(): void
  /** Claims and sends one batch now; for tests. */
  flushOnce(): Promise<SendResult>
}

/**
 * Moves due deliveries to the mailer. Each batch is leased (see `claimDueDeliveries`), so several
 * replicas share the table without sending a row twice, and the send happens outside any
 * transaction (on PGlite a transaction would hold the only connection for the whole SMTP
 * conversation). A failure counts an attempt and sets the next one by back-off, or `dead` after
 * the last. Delivery is at least once: dying between the SMTP server's "250 OK" and `markSent`
 * sends the mail again after the lease, with the same Message-ID. A database that is away when
 * the outcome is to be stored (a restart) is waited for, up to half the lease: the mail went out,
 * and must not go out again because its "sent" could not be written yet. A claim whose answer was
 * lost that way is given back on the next round, not left to its lease.
 */
export function createSender(opts: SenderOptions): Sender {
  const batchSize = opts.batchSize ?? BATCH_SIZE_DEFAULT
  const concurrency = opts.concurrency ?? CONCURRENCY_DEFAULT
  const leaseMs = opts.leaseMs ?? LEASE_MS_DEFAULT
  let stopping = false

  async function sendOne(row: DeliveryRow, claimId: string): Promise<'sent' | 'retrying' | 'dead' | 'lost'> {
    try {
      await opts.mailer.send(opts.compose(row))
    } catch (error) {
      const attempts = row.attempts + 1
      const next = afterFailure(attempts, opts.policy)
      const lastError = describeSendError(error)
      const kept = await untilStored(() => markFailed(opts.db, row.id, claimId, { attempts, ...next, error: lastError }))
      const fields = { delivery_id: row.id, event_id: row.event_id, template: row.template, attempts, last_error: lastError, err: error }
      if (next.status === 'dead') opts.log.error(fields, 'mail delivery is dead after its last attempt')
      else opts.log.debug({ ...fields, retry_in_ms: next.delayMs }, 'mail delivery failed; will retry')
      return kept ? next.status : 'lost'
    }
    return (await untilStored(() => markSent(opts.db, row.id, claimId))) ? 'sent' : 'lost'
  }

  /**
   * Runs `store`, again and again while the database is unreachable, for up to half the lease;
   * a stopping sender gives up at once (the lease then covers the row, as after a crash).
   */
  async function untilStored<T>(store: () => Promise<T>): Promise<T> {
    const giveUpAt = Date.now() + leaseMs / 2
    for (let delayMs = RECORD_RETRY_FIRST_MS; ; delayMs = Math.min(delayMs * 2, RECORD_RETRY_MAX_MS)) {
      try {
        return await store()
      } catch (error) {
        if (stopping || !isDependencyOutage(error) || Date.now() + delayMs > giveUpAt) throw error
        await new Promise((resolve) => setTimeout(resolve, delayMs))
      }
    }
  }

  /** Claims whose commit may have happened unheard (the database went away meanwhile). */
  let unheardClaims: string[] = []

  async function flushOnce(): Promise<SendResult> {
    if (unheardClaims.length > 0) {
      await releaseClaims(opts.db, unheardClaims)
      unheardClaims = []
    }
    const claimId = randomUUID()
    let rows: DeliveryRow[]
    try {
      rows = await claimDueDeliveries(opts.db, { limit: batchSize, leaseMs, claimId })
    } catch (error) {
      if (isDependencyOutage(error)) unheardClaims.push(claimId)
      throw error
    }
    const result: SendResult = { claimed: rows.length, sent: 0, failed: 0, dead: 0 }
    let next = 0
    async function worker(): Promise<void> {
      while (next < rows.length) {
        const row = rows[next++]!
        const outcome = await sendOne(row, claimId)
        if (outcome === 'sent') result.sent++
        else if (outcome === 'dead') result.dead++
        else if (outcome === 'retrying') result.failed++
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, rows.length) }, worker))
    if (result.failed > 0) {
      // One line per batch: an SMTP outage fails every mail, and a line each would flood the log.
      opts.log.warn({ failed: result.failed, sent: result.sent, target: opts.mailer.target }, 'mail sending failed; retrying with back-off')
    }
    return result
  }

  const loop = createPollLoop({
    idleMs: opts.pollMs,
    maxBackoffMs: 30_000,
    tick: async () => ({ more: (await flushOnce()).claimed === batchSize }),
    onError: (error) => opts.log.error({ err: error }, 'mail sender batch failed; retrying'),
  })

  return {
    start() {
      stopping = false
      loop.start()
    },
    stop() {
      stopping = true
      return loop.stop()
    },
    notify: loop.notify,
    flushOnce,
  }
}
