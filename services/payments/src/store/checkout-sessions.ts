import type { Executor } from '@platform/db'
import type { CheckoutSessionRow, PaymentsDatabase } from './schema.ts'

type Db = Executor<PaymentsDatabase>

export type CheckoutSession = {
  id: string
  userId: string
  plan: string
  provider: 'stripe' | 'sandbox'
  status: 'open' | 'completed'
  url: string
  createdAt: Date
  completedAt: Date | null
}

function rowToSession(row: CheckoutSessionRow): CheckoutSession {
  return {
    id: row.id,
    userId: row.user_id,
    plan: row.plan,
    provider: row.provider,
    status: row.status,
    url: row.url,
    createdAt: new Date(row.created_at),
    completedAt: row.completed_at === null ? null : new Date(row.completed_at),
  }
}

export async function insertCheckoutSession(db: Db, session: Omit<CheckoutSession, 'status' | 'completedAt'>): Promise<void> {
  await db
    .insertInto('checkout_sessions')
    .values({ id: session.id, user_id: session.userId, plan: session.plan, provider: session.provider, status: 'open', url: session.url, created_at: session.createdAt })
    .execute()
}

export async function findCheckoutSession(db: Db, id: string): Promise<CheckoutSession | undefined> {
  const row = await db.selectFrom('checkout_sessions').selectAll().where('id', '=', id).executeTakeFirst()
  return row && rowToSession(row)
}
