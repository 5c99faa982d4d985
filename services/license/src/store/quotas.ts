import { sql } from 'kysely'
import type { Executor } from '@platform/db'
import type { LicenseDatabase } from './schema.ts'

type Db = Executor<LicenseDatabase>

/**
 * Counts one more license against a reseller's quota if there is room, in one atomic statement
 * (two concurrent issues cannot both take the last slot). Returns false when the quota is full.
 */
export async function takeQuota(db: Db, userId: string, defaultQuota: number, now: Date): Promise<boolean> {
  await db
    .insertInto('reseller_quotas')
    .values({ user_id: userId, quota: null, updated_at: now })
    .onConflict((oc) => oc.column('user_id').doNothing())
    .execute()
  const row = await db
    .updateTable('reseller_quotas')
    .set({ issued: sql`issued + 1` })
    .where('user_id', '=', userId)
    .where(sql<boolean>`issued < coalesce(quota, ${defaultQuota})`)
    .returning('issued')
    .executeTakeFirst()
  return row !== undefined
}

export async function setQuota(db: Db, userId: string, quota: number, now: Date): Promise<{ quota: number; issued: number }> {
  const row = await db
    .insertInto('reseller_quotas')
    .values({ user_id: userId, quota, updated_at: now })
    .onConflict((oc) => oc.column('user_id').doUpdateSet({ quota, updated_at: now }))
    .returning(['quota', 'issued'])
    .executeTakeFirstOrThrow()
  return { quota: row.quota ?? quota, issued: row.issued }
}
