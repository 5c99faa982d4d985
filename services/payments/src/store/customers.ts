import type { Executor } from '@platform/db'
import type { PaymentsDatabase } from './schema.ts'

type Db = Executor<PaymentsDatabase>

/** The user's newest provider customer, so a new checkout reuses it instead of making another. */
export async function customerOfUser(db: Db, userId: string): Promise<string | undefined> {
  const row = await db.selectFrom('customers').select('id').where('user_id', '=', userId).orderBy('created_at', 'desc').limit(1).executeTakeFirst()
  return row?.id
}
