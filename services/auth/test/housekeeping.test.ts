import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { openDatabase, type Database } from '@platform/db'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { infraUrl } from '@platform/testkit'
import { EXPIRED_KEEP_MS, pruneExpired } from '../src/store/housekeeping.ts'
import { authMigrations } from '../src/store/migrations/index.ts'
import type { AuthDatabase } from '../src/store/schema.ts'

const databaseUrl = infraUrl('DATABASE_URL')
const HOUR_MS = 3_600_000

describe(`auth housekeeping (${databaseUrl ? 'PostgreSQL' : 'PGlite'})`, () => {
  let database: Database<AuthDatabase>
  let url: string | undefined
  before(async () => {
    url = databaseUrl ? uniqueDatabaseUrl(databaseUrl, 'auth_housekeeping_test') : undefined
    database = await openDatabase<AuthDatabase>({ service: 'auth', url, migrations: authMigrations })
  })
  after(async () => {
    await database.close()
    if (url) await dropDatabase(url)
  })

  it('when it runs, what expired before the grace goes (a session with its refresh tokens) and everything else stays', async () => {
    const db = database.db
    const now = new Date()
    const at = (msFromNow: number) => new Date(now.getTime() + msFromNow)
    const longAgo = at(-EXPIRED_KEEP_MS - HOUR_MS)
    const userId = randomUUID()
    await db.insertInto('users').values({ id: userId, email: `${userId}@example.com`, password_hash: 'x', roles: ['user'], email_verified: false, disabled: false }).execute()
    const session = (expiresAt: Date) => ({ id: randomUUID(), user_id: userId, last_used_at: now, expires_at: expiresAt })
    const [gone, recent, live] = [session(longAgo), session(at(-HOUR_MS)), session(at(HOUR_MS))]
    await db.insertInto('sessions').values([gone, recent, live]).execute()
    await db
      .insertInto('refresh_tokens')
      .values([gone, live].map((s) => ({ id: randomUUID(), session_id: s.id, token_hash: randomBytes(16).toString('hex'), expires_at: s.expires_at })))
      .execute()
    await db
      .insertInto('revocations')
      .values([
        { kind: 'session', value: 'over', data: '1', expires_at: at(-1000) },
        { kind: 'session', value: 'in-force', data: '1', expires_at: at(HOUR_MS) },
      ])
      .execute()
    const linkToken = (expiresAt: Date) => ({ id: randomUUID(), user_id: userId, token_hash: randomBytes(16).toString('hex'), expires_at: expiresAt })
    const [oldLink, liveLink] = [linkToken(longAgo), linkToken(at(HOUR_MS))]
    await db.insertInto('email_verification_tokens').values([oldLink, liveLink]).execute()
    await db.insertInto('password_reset_tokens').values(linkToken(at(-HOUR_MS))).execute()

    const pruned = await pruneExpired(db, now)
    const again = await pruneExpired(db, now)

    assert.deepEqual({ pruned, again }, { pruned: { sessions: 1, revocations: 1, linkTokens: 1 }, again: { sessions: 0, revocations: 0, linkTokens: 0 } })
    const sessions = await db.selectFrom('sessions').select('id').where('user_id', '=', userId).execute()
    assert.deepEqual(sessions.map((s) => s.id).sort(), [recent.id, live.id].sort())
    const tokens = await db.selectFrom('refresh_tokens').select('session_id').execute()
    assert.deepEqual(tokens, [{ session_id: live.id }])
    const revocations = await db.selectFrom('revocations').select('value').execute()
    assert.deepEqual(revocations, [{ value: 'in-force' }])
    const links = await db.selectFrom('email_verification_tokens').select('id').execute()
    assert.deepEqual(links, [{ id: liveLink.id }])
    assert.equal((await db.selectFrom('password_reset_tokens').select('id').execute()).length, 1)
  })
})
