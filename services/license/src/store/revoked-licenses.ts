import type { Executor } from '@platform/db'
import type { LicenseDatabase } from './schema.ts'

/** What answering `REVOKED` needs of a revoked license; none of it changes after the revocation. */
export type RevokedLicense = { id: string; keyHash: string; product: string; expiresAt: Date | null }

/** Revoked licenses in id order after `afterId`, one page: for loading the store's negative cache. */
export async function listRevokedLicenses(db: Executor<LicenseDatabase>, afterId: string | undefined, limit: number): Promise<RevokedLicense[]> {
  let query = db.selectFrom('licenses').select(['id', 'key_hash', 'product', 'expires_at']).where('status', '=', 'revoked')
  if (afterId !== undefined) query = query.where('id', '>', afterId)
  const rows = await query.orderBy('id').limit(limit).execute()
  return rows.map((row) => ({ id: row.id, keyHash: row.key_hash, product: row.product, expiresAt: row.expires_at === null ? null : new Date(row.expires_at) }))
}
