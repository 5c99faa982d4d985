import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { TestClient } from '@platform/testkit'
import { waitUntil } from '@platform/testkit/infra'
import { adminOf, type AuditRecord } from '../src/audit-fixtures.ts'
import { loginAs, ownClient, registerUser } from '../src/auth-fixtures.ts'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { GOOD_PASSWORD, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

// CONTRACT §4 POST /auth/password/forgot and /auth/password/reset, through the gateway, with the
// mail read from the stack's mailbox (DATA_DIR/mailbox/*.eml) as a person would click it.

const NEW_PASSWORD = 'a brand new passphrase for this'
const WRONG = 'definitely not the password'
const PUBLIC_URL = 'https://localhost:8443'

/** Every other limit relaxed; password_reset_email keeps its default (3 per hour per e-mail). */
const { password_reset_email: _relaxed, ...relaxed } = JSON.parse(RELAXED_RATE_LIMITS) as Record<string, unknown>
const RATE_LIMITS = JSON.stringify(relaxed)

const forgot = (client: TestClient, email: string) => client.request('POST', '/auth/password/forgot', { json: { email } })
const reset = (client: TestClient, token: string, password = NEW_PASSWORD) =>
  client.request('POST', '/auth/password/reset', { json: { token, new_password: password } })
const login = (client: TestClient, email: string, password: string) => client.request('POST', '/auth/login', { json: { email, password } })
const me = (client: TestClient, accessToken: string) => client.request('GET', '/auth/me', { token: accessToken })
const sha256 = (token: string) => createHash('sha256').update(token, 'utf8').digest('base64url')

/** The reset links in the mails to `email` found in the stack's mailbox. */
async function resetLinksFor(stack: Stack, email: string): Promise<string[]> {
  const dir = join(stack.dataDir, 'mailbox')
  const names = await readdir(dir).catch(() => [] as string[])
  const links: string[] = []
  for (const name of names.filter((n) => n.endsWith('.eml'))) {
    // Undo quoted-printable soft breaks and escapes: the link may be wrapped.
    const text = (await readFile(join(dir, name), 'utf8')).replace(/=\r?\n/g, '').replace(/=3D/gi, '=')
    if (!new RegExp(`^To: .*${email.replace(/[.+]/g, '\\$&')}`, 'im').test(text)) continue
    const match = /(https:\/\/[^\s"<>]+\/reset-password\?token=[A-Za-z0-9%_.~-]+)/.exec(text)
    if (match) links.push(match[1]!)
  }
  return links
}

/** Waits for the reset mail to `email` and returns the token of its link. */
async function resetTokenFor(stack: Stack, email: string): Promise<string> {
  let links: string[] = []
  await waitUntil(async () => (links = await resetLinksFor(stack, email)).length > 0, { timeoutMs: 15_000, what: `the reset mail to ${email}` })
  assert.equal(links.length, 1, `one reset mail to ${email}`)
  const link = new URL(links[0]!)
  assert.equal(`${link.origin}${link.pathname}`, `${PUBLIC_URL}/reset-password`)
  return link.searchParams.get('token')!
}

describe('password reset through the gateway', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({ RATE_LIMITS, NOTIFICATION_POLL_MS: '50' })
  })
  after(() => stack.stop())

  it('when forgot is asked for an unknown and a known address, both answer 202 with the same body, and only the known one gets the PUBLIC_URL link', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    const nobody = uniqueEmail('nobody')

    // Act
    const unknown = await forgot(client, nobody)
    const known = await forgot(client, user.email)

    // Assert
    assert.equal(unknown.status, 202, unknown.text)
    assert.equal(known.status, 202, known.text)
    assert.equal(known.text, unknown.text, 'the same body')
    assert.equal(known.headers.get('content-type'), unknown.headers.get('content-type'))
    const token = await resetTokenFor(stack, user.email)
    assert.equal(Buffer.from(token, 'base64url').length, 32, 'a 256-bit token')
    assert.deepEqual(await resetLinksFor(stack, nobody), [], 'no mail for an address without an account')
  })

  it('when the link is used, only the new password logs in, the address counts as verified, the other device is logged out, and the link is dead afterwards', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    const otherDevice = await loginAs(client, user.email)
    assert.equal((await forgot(client, user.email)).status, 202)
    const token = await resetTokenFor(stack, user.email)

    // Act
    const res = await reset(client, token)

    // Assert
    assert.equal(res.status, 204, res.text)
    assertProblem(await me(client, otherDevice.accessToken), 401, 'invalid_token', "the other device's access token")
    const refreshed = await client.request('POST', '/auth/refresh', { json: { refresh_token: otherDevice.refreshToken } })
    assertProblem(refreshed, 401, 'invalid_token', "the other device's refresh token")
    assertProblem(await login(client, user.email, GOOD_PASSWORD), 401, 'invalid_credentials', 'the old password')
    const fresh = await login(client, user.email, NEW_PASSWORD)
    assert.equal(fresh.status, 200, `the new password: ${fresh.text}`)
    const profile = await me(client, fresh.body.access_token as string)
    assert.equal(profile.status, 200, 'a session opened after the reset works')
    assert.equal(profile.body.email_verified, true, 'the reset link proved the address')
    assertProblem(await reset(client, token, 'yet another fine passphrase'), 400, 'invalid_token', 'the link used twice')
  })

  it('when the token has expired, answers 400 invalid_token and the password stays', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    assert.equal((await forgot(client, user.email)).status, 202)
    const token = await resetTokenFor(stack, user.email)
    // 30 minutes cannot pass in a test: the stored row is moved into the past instead.
    const moved = await stack.platform.auth.deps.db
      .updateTable('password_reset_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('token_hash', '=', sha256(token))
      .executeTakeFirst()
    assert.equal(moved.numUpdatedRows, 1n)

    // Act
    const res = await reset(client, token)

    // Assert
    assertProblem(res, 400, 'invalid_token')
    assertProblem(await reset(client, randomBytes(32).toString('base64url')), 400, 'invalid_token', 'an unknown token')
    assert.equal((await login(client, user.email, GOOD_PASSWORD)).status, 200, 'the old password still works')
  })

  it('when an account is locked by wrong guesses, a completed reset unlocks it', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    for (let i = 0; i < 5; i++) assertProblem(await login(client, user.email, WRONG), 401, 'invalid_credentials', `failure ${i + 1}`)
    assertProblem(await login(client, user.email, GOOD_PASSWORD), 423, 'account_locked', 'locked')
    assert.equal((await forgot(client, user.email)).status, 202)
    const token = await resetTokenFor(stack, user.email)

    // Act
    const res = await reset(client, token)

    // Assert
    assert.equal(res.status, 204, res.text)
    const relogin = await login(client, user.email, NEW_PASSWORD)
    assert.equal(relogin.status, 200, `from the same address, right after the reset: ${relogin.text}`)
  })

  it('when one e-mail asks for a 4th link within an hour, answers 429 rate_limited (password_reset_email), however it is spelled', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const user = await registerUser(client)
    for (const spelling of [user.email, user.email.toUpperCase(), ` ${user.email} `]) {
      assert.equal((await forgot(client, spelling)).status, 202, spelling)
    }

    // Act
    const res = await forgot(client, user.email)

    // Assert
    assertProblem(res, 429, 'rate_limited')
    assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After')
    assert.match(res.headers.get('ratelimit-policy') ?? '', /password_reset_email/)
    assert.equal((await forgot(client, uniqueEmail('other'))).status, 202, 'another address is not limited')
  })

  it('when a reset is requested and completed, the audit log shows both events and neither carries the token', async (t) => {
    // Arrange
    const client = ownClient(t, stack)
    const admin = await adminOf(stack)
    const user = await registerUser(client)
    assert.equal((await forgot(client, user.email)).status, 202)
    const token = await resetTokenFor(stack, user.email)
    assert.equal((await reset(client, token)).status, 204)

    // Act
    const records = new Map<string, AuditRecord>()
    await waitUntil(
      async () => {
        for (const action of ['auth.password_reset.requested', 'auth.password_reset.completed']) {
          const res = await stack.client.request('GET', `/audit/events?action=${action}&limit=500`, { token: admin.accessToken })
          assert.equal(res.status, 200, res.text)
          const mine = (res.body.items as AuditRecord[]).find((r) => r.subject?.id === user.id)
          if (mine) records.set(action, mine)
        }
        return records.size === 2
      },
      { timeoutMs: 15_000, what: 'both reset events in the audit log' },
    )

    // Assert
    const requested = records.get('auth.password_reset.requested')!
    const completed = records.get('auth.password_reset.completed')!
    assert.deepEqual(requested.subject, { type: 'user', id: user.id })
    assert.equal(requested.outcome, 'success')
    assert.equal(requested.details.reset_token_sealed, '[redacted]')
    assert.equal(completed.actor_id, user.id)
    assert.equal(completed.outcome, 'success')
    for (const record of [requested, completed]) {
      const text = JSON.stringify(record)
      assert.ok(!text.includes(token), `${record.action}: no token`)
      assert.ok(!text.includes(NEW_PASSWORD) && !text.includes(GOOD_PASSWORD), `${record.action}: no password`)
    }
  })
})
