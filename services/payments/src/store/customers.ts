import type { Executor } from '@platform/db'
import type { PaymentsDatabase } from './schema.ts'

type Db = Executor<PaymentsDatabase>

/** Remembers which user a provider customer is; the first attribution stays. */
export async function rememberCustomer(db: Db, id: string, userId: string, now: Date): Promise<void> {
  await db.insertInto('customers').values({ id, user_id: userId, created_at: now }).onConflict((oc) => oc.column('id').doNothing()).execute()
}

export async function userOfCustomer(db: Db, id: string): Promise<string | undefined> {
  const row = await db.selectFrom('customers').select('user_id').where('id', '=', id).executeTakeFirst()
  return row?.user_id
}

/** The user's newest provider customer, so a new checkout reuses it instead of making another. */
export async function customerOfUser(db: Db, userId: string): Promise<string | undefined> {
  const row = await db.selectFrom('customers').select('id').where('user_id', '=', userId).orderBy('created_at', 'desc').limit(1).executeTakeFirst()
  return row?.id
}
