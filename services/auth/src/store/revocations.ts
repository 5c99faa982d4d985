import type { Executor } from '@platform/db'
import type { AuthDatabase, RevocationRow } from './schema.ts'

type Db = Executor<AuthDatabase>

export type RevocationRecord = Pick<RevocationRow, 'kind' | 'value' | 'data'> & { expiresAt: Date }

export async function insertRevocations(db: Db, records: readonly RevocationRecord[]): Promise<void> {
  if (records.length === 0) return
  await db
    .insertInto('revocations')
    .values(records.map((r) => ({ kind: r.kind, value: r.value, data: r.data, expires_at: r.expiresAt })))
    .execute()
}

/** Revocations still in force with `seq` above `afterSeq`, oldest first. */
export async function listLiveRevocations(db: Db, afterSeq: string, now: Date, limit: number): Promise<RevocationRow[]> {
  return db
    .selectFrom('revocations')
    .selectAll()
    .where('seq', '>', afterSeq)
    .where('expires_at', '>', now)
    .orderBy('seq')
    .limit(limit)
    .execute()
}
