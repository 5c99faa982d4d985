import { sql } from 'kysely'
import type { Executor } from '@platform/db'
import type { NotificationDatabase } from './schema.ts'

/** Remembers (or updates) the e-mail address of a user id. */
export async function rememberUser(db: Executor<NotificationDatabase>, userId: string, email: string): Promise<void> {
  await db
    .insertInto('user_directory')
    .values({ user_id: userId, email })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ email, updated_at: sql<Date>`now()` }))
    .execute()
}

/** The e-mail address of a user id, if an `auth.user.registered` event told it. */
export async function emailOfUser(db: Executor<NotificationDatabase>, userId: string): Promise<string | undefined> {
  const row = await db.selectFrom('user_directory').select('email').where('user_id', '=', userId).executeTakeFirst()
  return row?.email
}
