import { andCommit, deleteInChunks, inTransaction, type Executor } from '@platform/db'
import { sql, type ColumnType, type Kysely, type Migration, type Transaction } from 'kysely'
import { BusUnavailableError, errorMessage, type Bus, type BusLogger } from './bus.ts'
import { parseEnvelope, type EventEnvelope } from './envelope.ts'
import { createGauge, createPollLoop, repeat, type Metrics, type RepeatingJob } from '@platform/platform'

/** Rows of the `outbox` table: one event waiting for, or done with, its publish. */
export type OutboxTable = {
  id: string
  envelope: ColumnType<EventEnvelope, string, string>
  created_at: ColumnType<Date, never, never>
  /** Null until the broker confirmed the publish. */
  published_at: ColumnType<Date | null, never, Date | null>
  attempts: ColumnType<number, never, number>
  last_error: ColumnType<string | null, never, string | null>
  /** Not claimed before this time: the back-off after a failed publish. */
  available_at: ColumnType<Date, never, Date>
}

/** Rows of the `inbox` table: which consumer already handled which event. */
export type InboxTable = {
  event_id: string
  consumer: string
  processed_at: ColumnType<Date, never, never>
}

/** The tables {@link outboxMigration} creates; a service's database type includes them. */
export type OutboxTables = { outbox: OutboxTable; inbox: InboxTable }

/** Rows the relay claims and publishes per transaction unless told otherwise. */
export const OUTBOX_BATCH_SIZE_DEFAULT = 100
const CONCURRENCY_DEFAULT = 2
// Every commit that writes events wakes its own replica's relay (`notify`), so the idle poll only
// finds what nothing woke it for: rows whose publish failed and are due again, rows a crashed
// replica left. Measured: at 150 ms, the idle polls of the five services in one process cost it
// about 40 ms of CPU a second.
const IDLE_MS_DEFAULT = 1_000
/** Back-off after failed claims (the database away): this × 2^failures, up to `retryMaxMs`. */
const FAILED_CLAIM_RETRY_MS = 150
const RETRY_DELAY_BASE_MS = 500
const RETRY_DELAY_MAX_MS = 60_000
const LAST_ERROR_MAX_LENGTH = 2_000
const KEEP_MS_DEFAULT = 7 * 86_400_000
const PRUNE_EVERY_MS_DEFAULT = 3_600_000

/**
 * Creates `outbox` and `inbox`; add it to the service's migrations, under a name that sorts
 * where the service wants it.
 *
 * @example
 * const migrations = { '0001-create-licenses': createLicenses, '0002-outbox': outboxMigration }
 */
export const outboxMigration: Migration = {
  async up(db) {
    await db.schema
      .createTable('outbox')
      .addColumn('id', 'uuid', (col) => col.primaryKey())
      .addColumn('envelope', 'jsonb', (col) => col.notNull())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .addColumn('published_at', 'timestamptz')
      .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('available_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .execute()
    // Partial: published rows pile up until pruned, and the relay's claim must not scan them.
    await db.schema
      .createIndex('outbox_unpublished_idx')
      .on('outbox')
      .columns(['available_at', 'created_at'])
      .where(sql.ref('published_at'), 'is', null)
      .execute()
    await db.schema
      .createIndex('outbox_published_at_idx')
      .on('outbox')
      .column('published_at')
      .where(sql.ref('published_at'), 'is not', null)
      .execute()
    await db.schema
      .createTable('inbox')
      .addColumn('event_id', 'uuid', (col) => col.notNull())
      .addColumn('consumer', 'text', (col) => col.notNull())
      .addColumn('processed_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('inbox_pkey', ['event_id', 'consumer'])
      .execute()
    await db.schema
      .createIndex('inbox_processed_at_idx')
      .on('inbox')
      .column('processed_at')
      .execute()
  },
  async down(db) {
    await db.schema.dropTable('inbox').ifExists().execute()
    await db.schema.dropTable('outbox').ifExists().execute()
  },
}

// The outbox functions work on any service's database whose type includes OutboxTables; kysely's
// types cannot see that through a generic, so they look at it through this narrower type.
function outboxView<DB extends OutboxTables>(db: Executor<DB>): Executor<OutboxTables> {
  return db as unknown as Executor<OutboxTables>
}

/**
 * Writes `envelope` to the outbox inside the caller's transaction, so the event commits with the
 * state change it reports, or not at all (CONTRACT §7). The relay publishes it after the commit.
 * The envelope is validated here: a malformed event fails the transaction that made it.
 *
 * @example
 * await inTransaction(db, async (trx) => {
 *   await users.insert(trx, user)
 *   await writeEvent(trx, createEnvelope({ type: 'auth.user.registered', source: 'auth', subject: { type: 'user', id: user.id }, data: {} }))
 * })
 * relay.notify()
 */
export async function writeEvent<DB extends OutboxTables>(
  trx: Transaction<DB>,
  envelope: EventEnvelope,
): Promise<void> {
  parseEnvelope(envelope)
  await outboxView(trx).insertInto('outbox').values(outboxRowOf(envelope)).execute()
}

/**
 * The outbox row of an envelope made by `createEnvelope` (which validated it), for a statement
 * that writes the row together with the change it reports: one round trip where
 * {@link writeEvent} would add one. The relay publishes the row after that statement commits.
 */
export function outboxRowOf(envelope: EventEnvelope): { id: string; envelope: string } {
  return { id: envelope.id, envelope: JSON.stringify(envelope) }
}

/** Options of {@link createOutboxRelay}. */
export type OutboxRelayOptions<DB extends OutboxTables> = {
  db: Kysely<DB>
  bus: Pick<Bus, 'publish'>
  log?: BusLogger
  /** Rows claimed and published per transaction; default 100. */
  batchSize?: number
  /**
   * Batches in flight at once while a backlog drains, each its own claim transaction (default 2):
   * one batch's database round trips overlap the other's wait for confirms. Idle polls claim one.
   */
  concurrency?: number
  /** Poll interval while there is nothing to publish; default 1 s (commits wake the relay at once). */
  idleMs?: number
  /** Exchange to publish to; default the bus's (`platform.events`). */
  exchange?: string
  /** Back-off of a row whose publish failed: base × 2^(attempts-1), capped; default 500 ms, 60 s. */
  retryBaseMs?: number
  retryMaxMs?: number
  /**
   * How long published outbox rows (for inspection) and inbox records (against late
   * redeliveries) are kept; the relay deletes older ones every `pruneEveryMs`. Default 7 days and
   * 1 hour. Keep inbox records longer than the broker could redeliver an event.
   */
  keepMs?: number
  pruneEveryMs?: number
  /**
   * The service's registry: the relay adds `outbox_lag_seconds`, the age of the oldest event not
   * yet published (0 when none waits), read from the table at scrape time. It grows while the
   * broker is unreachable or the relay stopped, whichever replica's relay that is.
   */
  metrics?: Metrics
}

/** Outcome of one claimed batch. */
export type FlushResult = { claimed: number; published: number; failed: number }

/** The relay moving committed outbox rows to the bus. */
export type OutboxRelay = {
  /** Starts the background loop; idempotent. */
  start(): void
  /** Stops the loop after the batch in progress is done; idempotent. */
  stop(): Promise<void>
  /** Claims and publishes one batch now; for tests and for draining at shutdown. */
  flushOnce(): Promise<FlushResult>
  /** Wakes the loop at once, e.g. right after a transaction that wrote events committed. */
  notify(): void
}

/**
 * Publishes committed outbox rows with publisher confirms. Each batch is one transaction:
 * `SELECT … FOR UPDATE SKIP LOCKED` claims up to `batchSize` due rows, they are published in
 * parallel, and those the broker confirmed are marked `published_at` before the commit; so
 * several replicas can run relays on one table and no row is published by two of them. While a
 * backlog drains, `concurrency` such batches run at once (measured: the relay alone waits on
 * round trips most of the time, and overlapping them is what brings it near raw publishing). A row
 * whose publish failed stays, with `attempts` + 1, `last_error` and a growing `available_at`,
 * and the loop carries on with the others. Delivery is at least once: a crash after the confirm
 * and before the commit publishes the batch again, which consumers absorb by event id.
 * There is no order across the rows of a batch, nor across batches in flight together.
 *
 * The loop polls every `idleMs` while idle, and works through full batches back to back. Every
 * `pruneEveryMs` the relay also deletes published rows and inbox records older than `keepMs`
 * ({@link pruneOutbox}), so neither table grows without bound; replicas pruning at once only
 * find less to delete.
 * On PGlite the claim transaction holds the only connection while it publishes, so a slow
 * broker (up to the bus timeout) delays the service's other queries.
 *
 * @example
 * const relay = createOutboxRelay({ db: database.db, bus, log })
 * relay.start()
 * onShutdown(() => relay.stop())
 */
export function createOutboxRelay<DB extends OutboxTables>(
  opts: OutboxRelayOptions<DB>,
): OutboxRelay {
  const db = outboxView(opts.db) as Kysely<OutboxTables>
  const batchSize = opts.batchSize ?? OUTBOX_BATCH_SIZE_DEFAULT
  const concurrency = opts.concurrency ?? CONCURRENCY_DEFAULT
  const idleMs = opts.idleMs ?? IDLE_MS_DEFAULT
  const retryBaseMs = opts.retryBaseMs ?? RETRY_DELAY_BASE_MS
  const retryMaxMs = opts.retryMaxMs ?? RETRY_DELAY_MAX_MS
  const keepMs = opts.keepMs ?? KEEP_MS_DEFAULT
  const pruneEveryMs = opts.pruneEveryMs ?? PRUNE_EVERY_MS_DEFAULT
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a whole number >= 1, got ${batchSize}`)
  }
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a whole number >= 1, got ${concurrency}`)
  }
  const publishOpts = opts.exchange ? { exchange: opts.exchange } : undefined
  if (opts.metrics) {
    createGauge(opts.metrics, {
      name: 'outbox_lag_seconds',
      help: 'Age of the oldest outbox event not yet published (0 when none waits)',
      // A scrape during a database outage keeps the last value rather than failing /metrics.
      collect: (gauge) =>
        outboxLagSeconds(db).then(
          (seconds) => gauge.set({}, seconds),
          (err: unknown) => opts.log?.warn({ err: errorMessage(err) }, 'outbox lag not readable'),
        ),
    })
  }

  async function flushOnce(): Promise<FlushResult> {
    return inTransaction(db, async (trx) => {
      const rows = await trx
        .selectFrom('outbox')
        .select(['id', 'envelope', 'attempts'])
        .where('published_at', 'is', null)
        .where('available_at', '<=', sql<Date>`now()`)
        .orderBy('available_at')
        .orderBy('created_at')
        .limit(batchSize)
        .forUpdate()
        .skipLocked()
        .execute()
      if (rows.length === 0) return { claimed: 0, published: 0, failed: 0 }

      const results = await Promise.allSettled(
        rows.map((row) => opts.bus.publish(row.envelope, publishOpts)),
      )
      const published: string[] = []
      const failed: { id: string; attempts: number; error: string }[] = []
      results.forEach((result, i) => {
        const row = rows[i]!
        if (result.status === 'fulfilled') published.push(row.id)
        else
          failed.push({
            id: row.id,
            attempts: row.attempts + 1,
            error: errorMessage(result.reason),
          })
      })
      if (published.length > 0) {
        // One array parameter rather than one per row: a 100-row batch binds and plans one value.
        const markPublished = trx
          .updateTable('outbox')
          .set({ published_at: sql<Date>`now()` })
          .where(sql<boolean>`id = any(${published}::uuid[])`)
        await (failed.length === 0 ? markPublished.modifyEnd(andCommit) : markPublished).execute()
      }
      for (const row of failed) {
        const delayMs = Math.min(retryBaseMs * 2 ** Math.min(row.attempts - 1, 30), retryMaxMs)
        await trx
          .updateTable('outbox')
          .set({
            attempts: row.attempts,
            last_error: row.error.slice(0, LAST_ERROR_MAX_LENGTH),
            available_at: sql<Date>`now() + make_interval(secs => ${delayMs / 1000})`,
          })
          .where('id', '=', row.id)
          .execute()
      }
      if (failed.length > 0) {
        // One line per batch: an outage fails every row, and a line per row would flood the log.
        const allUnavailable = results.every(
          (r) => r.status === 'rejected' && r.reason instanceof BusUnavailableError,
        )
        opts.log?.warn(
          { failed: failed.length, published: published.length, err: failed[0]!.error },
          allUnavailable ? 'outbox publish failed: broker unavailable' : 'outbox publish failed',
        )
      }
      return { claimed: rows.length, published: published.length, failed: failed.length }
    })
  }

  let draining = false
  const loop = createPollLoop({
    idleMs,
    backoffBaseMs: FAILED_CLAIM_RETRY_MS,
    maxBackoffMs: retryMaxMs,
    // A full batch that went out means more may be waiting: go again at once, with `concurrency`
    // claims side by side (SKIP LOCKED hands each its own rows, as it does across replicas).
    // Every claim is settled before the tick ends, so `stop` never leaves a transaction open.
    tick: async () => {
      const results = await Promise.allSettled(
        Array.from({ length: draining ? concurrency : 1 }, () => flushOnce()),
      )
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      const full = results.some(
        (r) => r.status === 'fulfilled' && r.value.claimed === batchSize && r.value.failed === 0,
      )
      draining = !failure && full
      if (failure) throw failure.reason
      return { more: draining }
    },
    onError: (err) => opts.log?.error({ err: errorMessage(err) }, 'outbox relay batch failed; retrying'),
  })

  let pruning: RepeatingJob | undefined
  const prune = async () => {
    const deleted = await pruneOutbox(db, { olderThanMs: keepMs })
    if (deleted.outbox > 0 || deleted.inbox > 0) opts.log?.info(deleted, 'outbox and inbox pruned')
    return pruneEveryMs
  }

  return {
    start() {
      loop.start()
      pruning ??= repeat(prune, {
        firstDelayMs: pruneEveryMs,
        retryMs: pruneEveryMs,
        onError: (err) => opts.log?.warn({ err: errorMessage(err) }, 'outbox prune failed; trying again later'),
      })
    },
    async stop() {
      const job = pruning
      pruning = undefined
      await Promise.all([loop.stop(), job?.stop()])
    },
    flushOnce,
    notify: loop.notify,
  }
}

/**
 * Seconds since the oldest unpublished outbox row was written, by the database's clock; 0 when
 * every row is published. Rows waiting out a failed publish's back-off count too.
 */
export async function outboxLagSeconds<DB extends OutboxTables>(db: Kysely<DB>): Promise<number> {
  const { rows } = await sql<{ lag: number | null }>`
    select extract(epoch from now() - min(created_at))::float8 as lag
    from outbox where published_at is null`.execute(outboxView(db))
  return Math.max(0, Number(rows[0]?.lag ?? 0))
}

/**
 * Runs `fn` at most once per (`eventId`, `consumer`): the inbox row and `fn`'s writes commit in
 * one transaction, so a redelivered event finds the row and is skipped, and an `fn` that throws
 * leaves no row behind (the bus retries it). Concurrent deliveries of one event wait on the
 * row's key; the one that commits first wins. Returns whether `fn` ran. Effects outside the
 * database (an e-mail, an HTTP call) are not covered: make those idempotent on their own.
 *
 * @example
 * await bus.subscribe('license.payments', ['payments.subscription.*'], (event) =>
 *   handleOnce(db, 'license', event.id, (trx) => applySubscription(trx, event)).then(() => {}),
 * )
 */
export async function handleOnce<DB extends OutboxTables>(
  db: Kysely<DB>,
  consumer: string,
  eventId: string,
  fn: (trx: Transaction<DB>) => Promise<void>,
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const recorded = await outboxView(trx)
      .insertInto('inbox')
      .values({ event_id: eventId, consumer })
      .onConflict((oc) => oc.columns(['event_id', 'consumer']).doNothing())
      .returning('event_id')
      .executeTakeFirst()
    if (!recorded) return false
    await fn(trx)
    return true
  })
}

/**
 * Deletes outbox rows published, and inbox rows recorded, more than `olderThanMs` ago, a few
 * thousand per statement; returns how many of each. The relay runs it every `pruneEveryMs`. Keep
 * inbox rows longer than the broker could redeliver an event (the DLQ aside): a pruned row lets
 * a very late duplicate through.
 */
export async function pruneOutbox<DB extends OutboxTables>(
  db: Kysely<DB>,
  { olderThanMs }: { olderThanMs: number },
): Promise<{ outbox: number; inbox: number }> {
  const view = outboxView(db)
  const cutoff = sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`
  const outbox = await deleteInChunks((limit) =>
    sql`delete from outbox where id in (select id from outbox where published_at < ${cutoff} limit ${limit})`.execute(view),
  )
  const inbox = await deleteInChunks((limit) =>
    sql`delete from inbox where ctid in (select ctid from inbox where processed_at < ${cutoff} limit ${limit})`.execute(view),
  )
  return { outbox, inbox }
}

/**
 * Writes several envelopes to the outbox inside the caller's transaction in one multi-row INSERT
 * (one round trip, however many events one change emits); otherwise as {@link writeEvent}: each
 * envelope is validated, and they commit with the change they report or not at all.
 *
 * @example
 * await writeEvents(trx, [checkoutCompleted, subscriptionActivated, webhookProcessed])
 */
export async function writeEvents<DB extends OutboxTables>(
  trx: Transaction<DB>,
  envelopes: readonly EventEnvelope[],
): Promise<void> {
  if (envelopes.length === 0) return
  for (const envelope of envelopes) parseEnvelope(envelope)
  await outboxView(trx).insertInto('outbox').values(envelopes.map(outboxRowOf)).execute()
}
