import { sql } from 'kysely'
import type { Executor } from '@platform/db'
import type { Subscription } from '../domain/subscription.ts'
import type { PaymentsDatabase, SubscriptionRow, SubscriptionsTable } from './schema.ts'

type Db = Executor<PaymentsDatabase>

const date = (value: Date | string | null): Date | null => (value === null ? null : new Date(value))

export function subscriptionRowToSubscription(row: SubscriptionRow): Subscription {
  return {
    id: row.id,
    userId: row.user_id,
    plan: row.plan,
    customerId: row.customer_id,
    status: row.status,
    currentPeriodEnd: date(row.current_period_end),
    trialEnd: date(row.trial_end),
    stateAt: Number(row.state_at),
    announcedStatus: row.announced_status,
    version: row.version,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }
}

/**
 * The subscription `id`, locked for the rest of the transaction, created empty (`none`, no state)
 * when this is the first event about it: one upsert whose conflict branch rewrites a column with
 * its own value, which takes the row lock on a new and an existing row alike (the webhook claim
 * in `webhook-events.ts` locks the same way). Every event about one subscription therefore runs
 * after the other, whatever order and concurrency they arrive in.
 */
export async function lockOrCreateSubscription(db: Db, id: string, now: Date): Promise<Subscription> {
  const row = await db
    .insertInto('subscriptions')
    .values({ id, status: 'none', announced_status: 'none', state_at: 0, version: 0, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('id').doUpdateSet({ version: sql<number>`subscriptions.version` }))
    .returningAll()
    .executeTakeFirstOrThrow()
  return subscriptionRowToSubscription(row)
}

export type SubscriptionPatch = Partial<
  Pick<SubscriptionsTable, 'user_id' | 'plan' | 'customer_id' | 'status' | 'current_period_end' | 'trial_end' | 'announced_status' | 'version'> & { state_at: number }
>

/**
 * `before` as it is once `patch` is written at `now`: what {@link updateSubscription} would
 * return, computed without reading the row back. Only valid while the row is locked, as it is
 * between {@link lockOrCreateSubscription} (or the webhook claim) and the commit.
 */
export function patchedSubscription(before: Subscription, patch: SubscriptionPatch, now: Date): Subscription {
  return {
    ...before,
    ...(patch.user_id !== undefined ? { userId: patch.user_id } : {}),
    ...(patch.plan !== undefined ? { plan: patch.plan } : {}),
    ...(patch.customer_id !== undefined ? { customerId: patch.customer_id } : {}),
    ...(patch.status !== undefined ? { status: patch.status } : {}),
    ...(patch.current_period_end !== undefined ? { currentPeriodEnd: date(patch.current_period_end) } : {}),
    ...(patch.trial_end !== undefined ? { trialEnd: date(patch.trial_end) } : {}),
    ...(patch.state_at !== undefined ? { stateAt: patch.state_at } : {}),
    ...(patch.announced_status !== undefined ? { announcedStatus: patch.announced_status } : {}),
    ...(patch.version !== undefined ? { version: patch.version } : {}),
    updatedAt: now,
  }
}

export async function updateSubscription(db: Db, id: string, patch: SubscriptionPatch, now: Date): Promise<Subscription> {
  const row = await db
    .updateTable('subscriptions')
    .set({ ...patch, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow()
  return subscriptionRowToSubscription(row)
}

/**
 * The subscription GET /payments/subscription shows: the newest one that is still running
 * (trialing, active, past_due), else the newest of the user's subscriptions.
 */
export async function findCurrentSubscription(db: Db, userId: string): Promise<Subscription | undefined> {
  const row = await db
    .selectFrom('subscriptions')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy(sql`case when status in ('trialing', 'active', 'past_due') then 0 else 1 end`)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst()
  return row && subscriptionRowToSubscription(row)
}

export async function findSubscription(db: Db, id: string): Promise<Subscription | undefined> {
  const row = await db.selectFrom('subscriptions').selectAll().where('id', '=', id).executeTakeFirst()
  return row && subscriptionRowToSubscription(row)
}
