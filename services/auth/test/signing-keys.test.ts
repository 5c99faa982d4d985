import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { openDatabase, type Database } from '@platform/db'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { createLogger } from '@platform/platform'
import { generateSigningKey, signAccessToken, verifyAccessToken } from '@platform/tokens'
import { infraUrl, waitUntil } from '@platform/testkit'
import { deriveKey } from '../src/domain/derive-key.ts'
import { openKeyRing, RETIRED_KEY_MARGIN_S, SIGNING_KEY_RELOAD_MS, type KeyRingDeps } from '../src/domain/signing-keys.ts'
import { authMigrations } from '../src/store/migrations/index.ts'
import type { AuthDatabase } from '../src/store/schema.ts'

const databaseUrl = infraUrl('DATABASE_URL')
const log = createLogger('signing-keys-test', { level: 'silent' })
const TTL_S = 900

describe(`signing keys in the auth database (${databaseUrl ? 'PostgreSQL' : 'PGlite'})`, () => {
  const secret = randomBytes(32).toString('base64url')
  let replicaA: Database<AuthDatabase>
  let replicaB: Database<AuthDatabase>
  let url: string | undefined
  before(async () => {
    url = databaseUrl ? uniqueDatabaseUrl(databaseUrl, 'auth_keys_test') : undefined
    replicaA = await openDatabase<AuthDatabase>({ service: 'auth', url, migrations: authMigrations })
    // Two pools on one server are two replicas; PGlite has one connection, so both share it.
    replicaB = url ? await openDatabase<AuthDatabase>({ service: 'auth', url, migrations: authMigrations }) : replicaA
  })
  after(async () => {
    if (replicaB !== replicaA) await replicaB.close()
    await replicaA.close()
    if (url) await dropDatabase(url)
  })
  const deps = (database: Database<AuthDatabase>, keySecret = secret): KeyRingDeps => ({
    db: database.db,
    encryptionKey: deriveKey(keySecret, 'signing-key-encryption'),
    accessTokenTtlSeconds: TTL_S,
    log,
  })

  it('when the table is empty the configured key becomes the first key; later starts keep the table, whatever is configured', async () => {
    const configured = generateSigningKey()
    const a = await openKeyRing(deps(replicaA), configured)
    const b = await openKeyRing(deps(replicaB), generateSigningKey())
    assert.equal(a.active().kid, configured.kid)
    assert.equal(b.active().kid, configured.kid, 'every replica signs with the one key in the table')
    const row = await replicaA.db.selectFrom('signing_keys').selectAll().executeTakeFirstOrThrow()
    assert.doesNotMatch(row.private_key_enc, /PRIVATE KEY/, 'stored encrypted')
    assert.equal(row.retired_at, null)
    await assert.rejects(openKeyRing(deps(replicaA, 'another secret of enough length'), generateSigningKey()), /AUTH_TOKEN_SECRET/)
  })

  it('when one replica rotates, the other verifies the new kid at once and signs with it within the reload interval', async () => {
    const a = await openKeyRing(deps(replicaA), generateSigningKey())
    const b = await openKeyRing(deps(replicaB), generateSigningKey())
    b.start()
    const old = a.active()

    const kid = await a.rotate()

    assert.notEqual(kid, old.kid)
    assert.equal(a.active().kid, kid, 'the rotating replica switches at once')
    const token = signAccessToken({ key: a.active(), issuer: 'https://x', audience: 'platform', ttlSeconds: 60, subject: 's', sessionId: 'sid', roles: [], emailVerified: false }).token
    const claims = await verifyAccessToken(token, { resolveKey: (k) => b.publicKey(k), issuer: 'https://x', audience: 'platform' })
    assert.equal(claims.sub, 's', 'an unknown kid makes the other replica re-read the table')
    const started = Date.now()
    await waitUntil(() => b.active().kid === kid, { timeoutMs: 5000, what: 'replica B to sign with the new key' })
    assert.ok(Date.now() - started <= SIGNING_KEY_RELOAD_MS + 1000)
    b.stop()
    assert.deepEqual(a.jwks().keys.map((k) => k.kid).sort(), [kid, old.kid].sort(), 'the old key stays published')
    assert.ok(await b.publicKey(old.kid), 'and keeps verifying')
  })

  it('when a retired key is past ACCESS_TOKEN_TTL (+ margin) after it retired, it leaves the JWKS and stops verifying', async () => {
    const ring = await openKeyRing(deps(replicaA), generateSigningKey())
    const old = ring.active().kid
    await ring.rotate()
    const row = await replicaA.db.selectFrom('signing_keys').select(['retired_at', 'not_after']).where('kid', '=', old).executeTakeFirstOrThrow()
    assert.equal(new Date(row.not_after!).getTime() - new Date(row.retired_at!).getTime(), (TTL_S + RETIRED_KEY_MARGIN_S) * 1000)

    await replicaA.db.updateTable('signing_keys').set({ not_after: new Date(Date.now() - 1000) }).where('kid', '=', old).execute()
    await ring.reload()

    assert.ok(!ring.jwks().keys.some((k) => k.kid === old), 'gone from the JWKS')
    assert.equal(await ring.publicKey(old), undefined)
    const active = await replicaA.db.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).execute()
    assert.deepEqual(active.map((r) => r.kid), [ring.active().kid], 'exactly one active key')
  })

  it('when two replicas rotate at the same moment, there is still exactly one active key', async () => {
    const a = await openKeyRing(deps(replicaA), generateSigningKey())
    const b = await openKeyRing(deps(replicaB), generateSigningKey())
    await Promise.all([a.rotate(), b.rotate()])
    const active = await replicaA.db.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).execute()
    assert.equal(active.length, 1)
    await Promise.all([a.reload(), b.reload()])
    assert.equal(a.active().kid, active[0]!.kid)
    assert.equal(b.active().kid, active[0]!.kid)
  })
})
