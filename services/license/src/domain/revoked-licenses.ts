import type { Kv } from '@platform/kv'
import type { Logger } from '@platform/platform'
import type { Kysely } from 'kysely'
import { listRevokedLicenses, type RevokedLicense } from '../store/revoked-licenses.ts'
import type { LicenseDatabase } from '../store/schema.ts'

export type { RevokedLicense }

/**
 * A fast negative path for online validation: revoked licenses, by id and by key hash, in the
 * shared key-value store. PostgreSQL stays the record and the full check: a miss, or a store
 * that cannot be reached, means "read the license from PostgreSQL", which answers correctly on
 * its own. So nothing here can let a revoked license through, and nothing fails closed for lack
 * of Redis: it only spares the database the read for keys that are already dead.
 *
 * Only revocation is cached, because it is final: no code path turns a revoked license back,
 * changes its key (reissue refuses) or its product and expiry (`updateLicense` cannot). A
 * suspension is reversible; a cached SUSPENDED could outlive a reactivation committed on another
 * replica while this one re-seeds, so suspensions are always read from PostgreSQL.
 */
export type RevokedLicenses = {
  /** The revoked license with this id or key hash, or undefined: not known here, do the full check. Never throws. */
  find(by: { id: string } | { keyHash: string }): Promise<RevokedLicense | undefined>
  /** Remembers a license whose revocation has committed. Never throws: a miss costs only the full check. */
  remember(license: RevokedLicense): Promise<void>
  /** Loads every revoked license from PostgreSQL into the store (at start; a flushed store refills as validations find them). */
  seed(): Promise<number>
}

const PAGE = 1000

const keyOf = (by: { id: string } | { keyHash: string }) => ('id' in by ? `license:revoked:id:${by.id}` : `license:revoked:key:${by.keyHash}`)

type Stored = { id: string; key_hash: string; product: string; expires_at: string | null }

function entries(license: RevokedLicense): { key: string; value: string }[] {
  const value = JSON.stringify({ id: license.id, key_hash: license.keyHash, product: license.product, expires_at: license.expiresAt?.toISOString() ?? null } satisfies Stored)
  return [
    { key: keyOf({ id: license.id }), value },
    { key: keyOf({ keyHash: license.keyHash }), value },
  ]
}

export function createRevokedLicenses(deps: { db: Kysely<LicenseDatabase>; kv: Kv; log: Logger }): RevokedLicenses {
  return {
    async find(by) {
      let raw: string | null
      try {
        raw = await deps.kv.get(keyOf(by))
      } catch {
        return undefined
      }
      if (!raw) return undefined
      const stored = JSON.parse(raw) as Stored
      // The entry must be the one asked for: a value under another key is never trusted.
      if ('id' in by ? stored.id !== by.id : stored.key_hash !== by.keyHash) return undefined
      return { id: stored.id, keyHash: stored.key_hash, product: stored.product, expiresAt: stored.expires_at === null ? null : new Date(stored.expires_at) }
    },
    async remember(license) {
      try {
        await deps.kv.setMany(entries(license))
      } catch (error) {
        deps.log.warn({ err: error, license_id: license.id }, 'revoked license not cached; validation reads PostgreSQL for it')
      }
    },
    async seed() {
      let after: string | undefined
      let count = 0
      for (;;) {
        const page = await listRevokedLicenses(deps.db, after, PAGE)
        if (page.length > 0) await deps.kv.setMany(page.flatMap(entries))
        count += page.length
        if (page.length < PAGE) return count
        after = page[page.length - 1]!.id
      }
    },
  }
}
