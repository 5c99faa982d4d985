import { sql } from 'kysely'
import type { Executor } from '@platform/db'
import type { AuthDatabase, SigningKeyRow } from './schema.ts'

type Db = Executor<AuthDatabase>

/** A stored signing key: the private half still encrypted. */
export type StoredSigningKey = {
  kid: string
  privateKeyEnc: string
  publicJwk: Record<string, unknown>
  createdAt: Date
  retiredAt: Date | null
  notAfter: Date | null
}

function rowToKey(row: SigningKeyRow): StoredSigningKey {
  return {
    kid: row.kid,
    privateKeyEnc: row.private_key_enc,
    publicJwk: typeof row.public_jwk === 'string' ? (JSON.parse(row.public_jwk) as Record<string, unknown>) : row.public_jwk,
    createdAt: new Date(row.created_at),
    retiredAt: row.retired_at === null ? null : new Date(row.retired_at),
    notAfter: row.not_after === null ? null : new Date(row.not_after),
  }
}

/** Keys still published at `now`: the active one and retired ones whose tokens may live. */
export async function listPublishedKeys(db: Db, now: Date): Promise<StoredSigningKey[]> {
  const rows = await db
    .selectFrom('signing_keys')
    .selectAll()
    .where((eb) => eb.or([eb('not_after', 'is', null), eb('not_after', '>', now)]))
    .orderBy('created_at', 'desc')
    .execute()
  return rows.map(rowToKey)
}

/**
 * Serialises key changes across replicas for the rest of the transaction (rotation, first
 * import): the loser waits and then sees the winner's key.
 */
export async function lockSigningKeys(trx: Db): Promise<void> {
  await sql`lock table signing_keys in exclusive mode`.execute(trx)
}

export async function countSigningKeys(db: Db): Promise<number> {
  const row = await db.selectFrom('signing_keys').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function insertSigningKey(db: Db, key: { kid: string; privateKeyEnc: string; publicJwk: object; now: Date }): Promise<void> {
  await db
    .insertInto('signing_keys')
    .values({ kid: key.kid, private_key_enc: key.privateKeyEnc, public_jwk: JSON.stringify(key.publicJwk), created_at: key.now })
    .execute()
}

/** Retires the active key: it stops signing now and leaves the JWKS at `notAfter`. */
export async function retireActiveKey(db: Db, now: Date, notAfter: Date): Promise<string | undefined> {
  const row = await db
    .updateTable('signing_keys')
    .set({ retired_at: now, not_after: notAfter })
    .where('retired_at', 'is', null)
    .returning('kid')
    .executeTakeFirst()
  return row?.kid
}
