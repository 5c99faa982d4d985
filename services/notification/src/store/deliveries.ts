import { sql, type Kysely } from 'kysely'
import type { Executor } from '@platform/db'
import type { DeliveryRow, DeliveryStatus, NewDeliveryRow, NotificationDatabase } from './schema.ts'

const LAST_ERROR_MAX_LENGTH = 500

/** Records deliveries; one that exists already for (event, template, recipient) is left as is. */
export async function insertDeliveries(db: Executor<NotificationDatabase>, rows: readonly NewDeliveryRow[]): Promise<number> {
  if (rows.length === 0) return 0
  const inserted = await db
    .insertInto('deliveries')
    .values([...rows])
    .onConflict((oc) => oc.columns(['event_id', 'template', 'recipient']).doNothing())
    .returning('id')
    .execute()
  return inserted.length
}

/**
 * Leases up to `limit` due deliveries to the caller: `FOR UPDATE SKIP LOCKED` keeps two senders
 * (replicas) off the same rows, and the lease (`next_attempt_at` pushed `leaseMs` ahead, stamped
 * with `claimId`) keeps them off while the mail is sent outside any transaction. A sender that
 * dies mid-send leaves the row to be picked up again when the lease runs out.
 */
export async function claimDueDeliveries(
  db: Kysely<NotificationDatabase>,
  opts: { limit: number; leaseMs: number; claimId: string },
): Promise<DeliveryRow[]> {
  return db.transaction().execute(async (trx) => {
    const due = await trx
      .selectFrom('deliveries')
      .select('id')
      .where('status', 'in', ['pending', 'retrying'])
      .where('next_attempt_at', '<=', sql<Date>`now()`)
      .orderBy('next_attempt_at')
      .limit(opts.limit)
      .forUpdate()
      .skipLocked()
      .execute()
    if (due.length === 0) return []
    return trx
      .updateTable('deliveries')
      .set({ claim_id: opts.claimId, next_attempt_at: sql<Date>`now() + make_interval(secs => ${opts.leaseMs / 1000})` })
      .where(sql<boolean>`id = any(${due.map((row) => row.id)}::uuid[])`)
      .returningAll()
      .execute()
  })
}

/**
 * Gives back the rows of claims whose answer never arrived (the database went away while the
 * claim committed): due again now, instead of when their lease runs out. Safe because no mail
 * of such a claim was sent: its sender never learnt which rows it held.
 */
export async function releaseClaims(db: Executor<NotificationDatabase>, claimIds: readonly string[]): Promise<number> {
  const result = await db
    .updateTable('deliveries')
    .set({ claim_id: null, next_attempt_at: sql<Date>`now()` })
    .where(sql<boolean>`claim_id = any(${[...claimIds]}::uuid[])`)
    .where('status', 'in', ['pending', 'retrying'])
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Marks a leased delivery sent; false when the lease was lost (another sender took it over). */
export async function markSent(db: Executor<NotificationDatabase>, id: string, claimId: string): Promise<boolean> {
  const result = await db
    .updateTable('deliveries')
    .set({ status: 'sent', sent_at: sql<Date>`now()`, attempts: sql<number>`attempts + 1`, last_error: null, claim_id: null })
    .where('id', '=', id)
    .where('claim_id', '=', claimId)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** Records a failed attempt of a leased delivery: `retrying` after `delayMs`, or `dead`. */
export async function markFailed(
  db: Executor<NotificationDatabase>,
  id: string,
  claimId: string,
  outcome: { attempts: number; status: 'retrying' | 'dead'; delayMs: number; error: string },
): Promise<boolean> {
  const result = await db
    .updateTable('deliveries')
    .set({
      status: outcome.status,
      attempts: outcome.attempts,
      last_error: outcome.error.slice(0, LAST_ERROR_MAX_LENGTH),
      next_attempt_at: sql<Date>`now() + make_interval(secs => ${outcome.delayMs / 1000})`,
      claim_id: null,
    })
    .where('id', '=', id)
    .where('claim_id', '=', claimId)
    .executeTakeFirst()
  return result.numUpdatedRows > 0n
}

/** Filters of the deliveries listing; `before` is the id the previous page ended with. */
export type DeliveryFilter = { to?: string | undefined; status?: DeliveryStatus | undefined; before?: string | undefined; limit: number }

/** Deliveries newest first (ids are UUID v7, so id order is creation order). */
export async function listDeliveries(db: Executor<NotificationDatabase>, filter: DeliveryFilter): Promise<DeliveryRow[]> {
  let query = db.selectFrom('deliveries').selectAll().orderBy('id', 'desc').limit(filter.limit)
  if (filter.to !== undefined) query = query.where('recipient', '=', filter.to)
  if (filter.status !== undefined) query = query.where('status', '=', filter.status)
  if (filter.before !== undefined) query = query.where('id', '<', filter.before)
  return query.execute()
}
