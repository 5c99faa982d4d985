import { sql, type Transaction } from 'kysely'
import type { Executor } from '@platform/db'
import { DIGEST_ALGORITHM, type DigestJwk, type SignedDigest } from '../domain/digest.ts'
import type { AuditDatabase, AuditDigestRow } from './schema.ts'

type Db = Executor<AuditDatabase>

/** A stored digest with its number (1, 2, …). */
export type StoredDigest = SignedDigest & { number: number }

export function digestRowToDigest(row: AuditDigestRow): StoredDigest {
  return {
    number: Number(row.number),
    version: 1,
    kid: row.kid,
    interval_start: new Date(row.interval_start).toISOString(),
    interval_end: new Date(row.interval_end).toISOString(),
    from_seq: Number(row.from_seq),
    to_seq: Number(row.to_seq),
    head_hash: row.head_hash,
    previous_signature: row.previous_signature,
    alg: DIGEST_ALGORITHM,
    signature: row.signature,
  }
}

export async function latestDigest(db: Db): Promise<StoredDigest | undefined> {
  const row = await db.selectFrom('audit_digests').selectAll().orderBy('number', 'desc').limit(1).executeTakeFirst()
  return row && digestRowToDigest(row)
}

export async function insertDigest(trx: Transaction<AuditDatabase>, digest: StoredDigest): Promise<void> {
  await trx
    .insertInto('audit_digests')
    .values({
      number: digest.number,
      interval_start: digest.interval_start,
      interval_end: digest.interval_end,
      from_seq: digest.from_seq,
      to_seq: digest.to_seq,
      head_hash: digest.head_hash,
      previous_signature: digest.previous_signature,
      kid: digest.kid,
      signature: digest.signature,
    })
    .execute()
}

/** Digests whose interval overlaps [`from`, `to`), oldest first, after digest number `after`. */
export async function listDigests(db: Db, range: { from?: string | undefined; to?: string | undefined }, page: { limit: number; after?: number | undefined }): Promise<{ items: StoredDigest[]; next?: number }> {
  let query = db.selectFrom('audit_digests').selectAll()
  if (range.from !== undefined) query = query.where('interval_end', '>', sql<Date>`${range.from}::timestamptz`)
  if (range.to !== undefined) query = query.where('interval_start', '<', sql<Date>`${range.to}::timestamptz`)
  if (page.after !== undefined) query = query.where('number', '>', String(page.after))
  const rows = await query.orderBy('number').limit(page.limit + 1).execute()
  const items = rows.slice(0, page.limit).map(digestRowToDigest)
  const last = items[items.length - 1]
  return rows.length > page.limit && last ? { items, next: last.number } : { items }
}

/** Deletes digests that ended before `cutoff`, always keeping the latest one (the next digest chains to it). */
export async function deleteDigestsBefore(db: Db, cutoff: string): Promise<number> {
  const result = await db
    .deleteFrom('audit_digests')
    .where('interval_end', '<', sql<Date>`${cutoff}::timestamptz`)
    .where('number', '<', (eb) => eb.selectFrom('audit_digests').select(sql<string>`max(number)`.as('n')))
    .executeTakeFirst()
  return Number(result.numDeletedRows)
}

/** Remembers a public key that signs digests; idempotent. */
export async function rememberSigningKey(db: Db, jwk: DigestJwk): Promise<void> {
  await db
    .insertInto('audit_signing_keys')
    .values({ kid: jwk.kid, public_jwk: JSON.stringify(jwk) })
    .onConflict((oc) => oc.column('kid').doNothing())
    .execute()
}

/** Every public key that ever signed a digest, oldest first. */
export async function signingKeys(db: Db): Promise<DigestJwk[]> {
  const rows = await db.selectFrom('audit_signing_keys').select('public_jwk').orderBy('created_at').execute()
  return rows.map((r) => r.public_jwk as unknown as DigestJwk)
}
