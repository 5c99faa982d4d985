import { sql } from 'kysely'
import type { EventEnvelope } from '@platform/bus'
import { outboxRowOf } from '@platform/bus/outbox'
import { andCommit, type Executor } from '@platform/db'
import type { Subscription } from '../domain/subscription.ts'
import type { PaymentsDatabase, SubscriptionRow } from './schema.ts'
import { subscriptionRowToSubscription, type SubscriptionPatch } from './subscriptions.ts'

type Db = Executor<PaymentsDatabase>

export type WebhookEventRecord = { id: string; type: string; created: number; receivedAt: Date }

/**
 * Records a provider event by id before any of its effects, in their transaction. False when it
 * was recorded already: a redelivery. Two deliveries at once queue on the primary key, and the
 * second sees the first's row once it commits, so only one applies its effects. An event whose
 * outcome is known before any read (a type not handled, a malformed object) is recorded with it.
 */
export async function recordWebhookEvent(db: Db, event: WebhookEventRecord & { outcome?: string; subscriptionId?: string | null }): Promise<boolean> {
  const inserted = await db
    .insertInto('webhook_events')
    .values({ id: event.id, type: event.type, created: event.created, outcome: event.outcome ?? 'received', subscription_id: event.subscriptionId ?? null, received_at: event.receivedAt })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst()
  return inserted !== undefined
}

/** A completed checkout's own rows, written with the claim of its event. */
export type CheckoutCompletion = { sessionId: string; userId: string; plan: string; provider: 'stripe' | 'sandbox'; url: string; customerId: string | null }

export type WebhookClaim = {
  event: WebhookEventRecord
  /** The subscription the event is about: created empty if new, locked until the commit. */
  subscriptionId: string
  /** A provider customer whose remembered user is read in the same statement. */
  customerId?: string | undefined
  checkout?: CheckoutCompletion | undefined
}

/**
 * One statement (one round trip) that records the event by id and, only when that inserted a row,
 * creates or locks its subscription and returns it, with the user remembered for `customerId`;
 * a checkout also remembers its customer and marks its session completed. Undefined when the event
 * was recorded before: a redelivery, which then touched nothing.
 *
 * The lock is an upsert whose conflict branch rewrites a column with its own value: it takes the
 * row lock whether the row is new or not, and a second event about the subscription waits on it
 * until this transaction ends, then reads the row as that one left it (READ COMMITTED re-checks
 * the newest version). Redeliveries at once queue on the event's primary key, as in
 * {@link recordWebhookEvent}. The customer is read in the statement's snapshot, taken before any
 * wait for the lock; the subscription's own user, read under the lock, takes precedence anyway.
 */
export async function claimWebhookEvent(db: Db, claim: WebhookClaim, now: Date): Promise<{ subscription: Subscription; customerUserId: string | undefined } | undefined> {
  const { event, checkout } = claim
  const checkoutRows = checkout
    ? sql`
      completed as (
        insert into checkout_sessions (id, user_id, plan, provider, status, url, created_at, completed_at)
        select ${checkout.sessionId}::text, ${checkout.userId}::uuid, ${checkout.plan}::text, ${checkout.provider}::text, 'completed', ${checkout.url}::text, ${now}::timestamptz, ${now}::timestamptz
        from recorded
        on conflict (id) do update set status = 'completed', completed_at = excluded.completed_at
      ),
      ${
        checkout.customerId
          ? sql`remembered as (
        insert into customers (id, user_id, created_at)
        select ${checkout.customerId}::text, ${checkout.userId}::uuid, ${now}::timestamptz from recorded
        on conflict (id) do nothing
      ),`
          : sql``
      }`
    : sql``
  const customerUser = claim.customerId ? sql`(select user_id from customers where id = ${claim.customerId}::text)` : sql`null::uuid`
  const { rows } = await sql<SubscriptionRow & { customer_user_id: string | null }>`
    with recorded as (
      insert into webhook_events (id, type, created, outcome, subscription_id, received_at)
      values (${event.id}::text, ${event.type}::text, ${event.created}::bigint, 'received', ${claim.subscriptionId}::text, ${event.receivedAt}::timestamptz)
      on conflict (id) do nothing
      returning id
    ),
    ${checkoutRows}
    locked as (
      insert into subscriptions (id, status, announced_status, state_at, version, created_at, updated_at)
      select ${claim.subscriptionId}::text, 'none', 'none', 0, 0, ${now}::timestamptz, ${now}::timestamptz from recorded
      on conflict (id) do update set version = subscriptions.version
      returning *
    )
    select locked.*, ${customerUser} as customer_user_id from locked`.execute(db)
  const row = rows[0]
  if (!row) return undefined
  const { customer_user_id: customerUserId, ...subscription } = row
  return { subscription: subscriptionRowToSubscription(subscription), customerUserId: customerUserId ?? undefined }
}

/**
 * Writes a claimed event's outcome, its subscription's change (the subscription must be locked
 * by {@link claimWebhookEvent} in this transaction) and its outbox rows, in one statement, the
 * transaction's last: its COMMIT travels with it (`andCommit`). The envelopes were validated when
 * they were made (`createEnvelope`); the relay publishes them after the commit like any row
 * `writeEvents` writes.
 */
export async function finishWebhookEvent(
  db: Db,
  done: { eventId: string; outcome: string; subscriptionId: string; patch: SubscriptionPatch; envelopes: readonly EventEnvelope[] },
  now: Date,
): Promise<void> {
  const { patch, subscriptionId } = done
  const rows = done.envelopes.map(outboxRowOf)
  if (rows.length === 0) throw new Error('a processed webhook writes at least its payments.webhook.processed event')
  const withOutbox = db.with('written', (qc) => qc.insertInto('outbox').values(rows).returning('id'))
  const query =
    Object.keys(patch).length === 0
      ? withOutbox.updateTable('webhook_events')
      : withOutbox.with('changed', (qc) => qc.updateTable('subscriptions').set({ ...patch, updated_at: now }).where('id', '=', subscriptionId).returning('id')).updateTable('webhook_events')
  await query.set({ outcome: done.outcome, subscription_id: subscriptionId }).where('id', '=', done.eventId).modifyEnd(andCommit).execute()
}

export async function findWebhookEvent(db: Db, id: string) {
  return db.selectFrom('webhook_events').selectAll().where('id', '=', id).executeTakeFirst()
}
