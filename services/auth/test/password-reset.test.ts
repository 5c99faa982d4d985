import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { createMemoryKv } from '@platform/kv'
import { unsealSecret } from '@platform/platform'
import { waitUntil } from '@platform/testkit'
import { requestPasswordReset, PASSWORD_RESET_TTL_S } from '../src/domain/password-reset.ts'
import { call, startTestAuth, type TestAuth } from './harness.ts'

const MAIL_TOKEN_KEY = 'a mail token key for the password reset tests'
const PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'a brand new passphrase for this'

const sha256 = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url')
const uniqueEmail = (tag: string) => `${tag}-${randomBytes(5).toString('hex')}@example.com`

type Envelope = { type: string; subject?: { type: string; id: string }; data: Record<string, unknown> }

/** The `auth.password_reset.*` events of a user in the outbox, oldest first. */
async function resetEvents(service: TestAuth, userId: string): Promise<Envelope[]> {
  const rows = await service.auth.deps.db.selectFrom('outbox').select('envelope').orderBy('created_at').orderBy('id').execute()
  return rows
    .map((row) => (typeof row.envelope === 'string' ? JSON.parse(row.envelope) : row.envelope) as Envelope)
    .filter((e) => e.type.startsWith('auth.password_reset.') && e.subject?.id === userId)
}

async function register(service: TestAuth, email = uniqueEmail('reset')): Promise<{ id: string; email: string }> {
  const res = await call(service.auth, 'POST', '/auth/register', { json: { email, password: PASSWORD } })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return { id: res.body.id as string, email }
}

/** Asks for a reset link through the domain and returns the token the mail would carry. */
async function resetTokenFor(service: TestAuth, user: { id: string; email: string }): Promise<string> {
  const outcome = await requestPasswordReset(service.auth.deps, user.email)
  assert.equal(outcome.issued, true)
  const events = await resetEvents(service, user.id)
  const sealed = events.filter((e) => e.type === 'auth.password_reset.requested').at(-1)!.data.reset_token_sealed as string
  return unsealSecret(MAIL_TOKEN_KEY, sealed)
}

const login = (service: TestAuth, email: string, password: string) => call(service.auth, 'POST', '/auth/login', { json: { email, password } })
const reset = (service: TestAuth, token: string, password = NEW_PASSWORD) =>
  call(service.auth, 'POST', '/auth/password/reset', { json: { token, new_password: password } })

describe('auth service: password reset', () => {
  let service: TestAuth
  before(async () => {
    service = await startTestAuth({ MAIL_TOKEN_KEY })
  })
  after(() => service.stop())

  it('when forgot is asked for a known and an unknown address, both answer 202 with the same body; only the known one gets a token', async () => {
    const user = await register(service)
    const nobody = uniqueEmail('nobody')

    const known = await call(service.auth, 'POST', '/auth/password/forgot', { json: { email: ` ${user.email.toUpperCase()} ` } })
    const unknown = await call(service.auth, 'POST', '/auth/password/forgot', { json: { email: nobody } })

    assert.equal(known.status, 202)
    assert.equal(unknown.status, 202)
    assert.deepEqual(known.body, unknown.body)
    await waitUntil(async () => (await resetEvents(service, user.id)).length === 1, { what: 'auth.password_reset.requested' })
    const [event] = await resetEvents(service, user.id)
    assert.equal(event!.type, 'auth.password_reset.requested')
    assert.equal(event!.data.email, user.email)
    const token = unsealSecret(MAIL_TOKEN_KEY, event!.data.reset_token_sealed as string)
    assert.equal(Buffer.from(token, 'base64url').length, 32, 'a 256-bit token')
    const rows = await service.auth.deps.db.selectFrom('password_reset_tokens').selectAll().where('user_id', '=', user.id).execute()
    assert.equal(rows.length, 1)
    assert.equal(rows[0]!.token_hash, sha256(token), 'stored as its SHA-256 only')
    assert.ok(!JSON.stringify(rows).includes(token))
    const ttlMs = new Date(rows[0]!.expires_at).getTime() - new Date(rows[0]!.created_at).getTime()
    assert.ok(Math.abs(ttlMs - PASSWORD_RESET_TTL_S * 1000) < 5_000, `30 minutes, was ${ttlMs} ms`)
  })

  it('when a disabled account asks for a reset, no token is made', async () => {
    const user = await register(service)
    await service.auth.deps.db.updateTable('users').set({ disabled: true }).where('id', '=', user.id).execute()

    const outcome = await requestPasswordReset(service.auth.deps, user.email)

    assert.equal(outcome.issued, false)
    assert.equal((await service.auth.deps.db.selectFrom('password_reset_tokens').select('id').where('user_id', '=', user.id).execute()).length, 0)
  })

  it('when the token is redeemed, the new password works, the old does not, sessions are revoked and the event says so', async () => {
    const user = await register(service)
    const session = await login(service, user.email, PASSWORD)
    assert.equal(session.status, 200)
    const token = await resetTokenFor(service, user)

    const res = await reset(service, token)

    assert.equal(res.status, 204, JSON.stringify(res.body))
    assert.equal((await login(service, user.email, PASSWORD)).body.code, 'invalid_credentials')
    assert.equal((await login(service, user.email, NEW_PASSWORD)).status, 200)
    const refreshed = await call(service.auth, 'POST', '/auth/refresh', { json: { refresh_token: session.body.refresh_token } })
    assert.equal(refreshed.status, 401)
    assert.equal((await call(service.auth, 'GET', '/auth/me', { token: session.body.access_token as string })).status, 401)
    const completed = (await resetEvents(service, user.id)).find((e) => e.type === 'auth.password_reset.completed')
    assert.deepEqual(completed?.data, { revoked_sessions: 1 })
    assert.equal((await reset(service, token, 'yet another passphrase here')).body.code, 'invalid_token', 'single use')
  })

  it('when two resets with one token race, exactly one wins and the other answers 400 invalid_token', async () => {
    const user = await register(service)
    const token = await resetTokenFor(service, user)

    const answers = await Promise.all([reset(service, token, 'the first racing passphrase'), reset(service, token, 'the second racing passphrase')])

    assert.deepEqual(answers.map((a) => a.status).sort(), [204, 400])
    const loser = answers.find((a) => a.status === 400)!
    assert.equal(loser.body.code, 'invalid_token')
    const winner = answers[0]!.status === 204 ? 'the first racing passphrase' : 'the second racing passphrase'
    assert.equal((await login(service, user.email, winner)).status, 200)
  })

  it('when a newer link is requested, the earlier one stops working', async () => {
    const user = await register(service)
    const first = await resetTokenFor(service, user)
    const second = await resetTokenFor(service, user)

    const stale = await reset(service, first)
    const fresh = await reset(service, second)

    assert.equal(stale.status, 400)
    assert.equal(stale.body.code, 'invalid_token')
    assert.equal(fresh.status, 204)
  })

  it('when the token is expired or unknown, answers 400 invalid_token', async () => {
    const user = await register(service)
    const token = await resetTokenFor(service, user)
    await service.auth.deps.db.updateTable('password_reset_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('token_hash', '=', sha256(token)).execute()

    const expired = await reset(service, token)
    const unknown = await reset(service, randomBytes(32).toString('base64url'))

    for (const res of [expired, unknown]) {
      assert.equal(res.status, 400)
      assert.equal(res.body.code, 'invalid_token')
    }
    assert.equal((await login(service, user.email, PASSWORD)).status, 200, 'the password is unchanged')
  })

  it('when the new password breaks the policy, answers 400 validation_failed at /new_password and the link still works', async () => {
    const user = await register(service)
    const token = await resetTokenFor(service, user)

    const refused = await reset(service, token, user.email)

    assert.equal(refused.status, 400)
    assert.equal(refused.body.code, 'validation_failed')
    assert.deepEqual((refused.body.errors as { path: string }[]).map((e) => e.path), ['/new_password'])
    assert.equal((await reset(service, token)).status, 204)
  })
})

describe('auth service: password reset while the key-value store is down', () => {
  it('answers 503 dependency_unavailable and changes nothing: the token stays unspent', async (t) => {
    const kv = createMemoryKv()
    const service = await startTestAuth({ MAIL_TOKEN_KEY }, { kv })
    t.after(() => service.stop())
    const user = await register(service)
    const token = await resetTokenFor(service, user)

    await kv.close()
    const res = await reset(service, token)

    assert.equal(res.status, 503, JSON.stringify(res.body))
    assert.equal(res.body.code, 'dependency_unavailable')
    const row = await service.auth.deps.db.selectFrom('password_reset_tokens').select('used_at').where('token_hash', '=', sha256(token)).executeTakeFirstOrThrow()
    assert.equal(row.used_at, null, 'the token is not spent')
    assert.equal((await resetEvents(service, user.id)).filter((e) => e.type === 'auth.password_reset.completed').length, 0)
  })
})
