import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { EventEnvelope, Subscription } from '@platform/bus'
import { waitUntil } from '@platform/testkit/infra'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { GOOD_PASSWORD, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

/** The verification link's token from the mail to `email` in the stack's mailbox, if it arrived. */
async function verificationTokenFor(stack: Stack, email: string): Promise<string | undefined> {
  const dir = join(stack.dataDir, 'mailbox')
  const names = await readdir(dir).catch(() => [] as string[])
  for (const name of names.filter((n) => n.endsWith('.eml'))) {
    // Undo quoted-printable soft breaks and escapes: the link may be wrapped.
    const text = (await readFile(join(dir, name), 'utf8')).replace(/=\r?\n/g, '').replace(/=3D/gi, '=')
    if (!text.includes(email)) continue
    const match = /verify-email\?token=([A-Za-z0-9%_.~-]+)/.exec(text)
    if (match) return decodeURIComponent(match[1]!)
  }
  return undefined
}

describe('auth events through the gateway', () => {
  let stack: Stack
  let subscription: Subscription
  const seen: EventEnvelope[] = []

  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS, NOTIFICATION_POLL_MS: '50' })
    subscription = await stack.platform.bus.subscribe(`e2e.auth-events.${randomBytes(6).toString('hex')}`, ['auth.#'], (event) => {
      seen.push(event)
      return Promise.resolve()
    })
  })
  after(async () => {
    await subscription.close()
    await stack.stop()
  })

  it('registration publishes auth.user.registered without the password, and its mail link verifies the e-mail once', async () => {
    const email = uniqueEmail('events')
    const registered = await stack.client.request('POST', '/auth/register', { json: { email, password: GOOD_PASSWORD } })
    assert.equal(registered.status, 201, registered.text)
    const userId = registered.body.id as string

    await waitUntil(() => seen.some((e) => e.type === 'auth.user.registered' && e.subject?.id === userId), { timeoutMs: 10_000, what: 'auth.user.registered' })
    const event = seen.find((e) => e.type === 'auth.user.registered' && e.subject?.id === userId)!
    assert.equal(event.source, 'auth')
    assert.deepEqual(event.subject, { type: 'user', id: userId })
    assert.equal(event.data.email, email)
    assert.equal(typeof event.data.verification_token_sealed, 'string')
    assert.ok(!JSON.stringify(event).includes(GOOD_PASSWORD), 'the event carries no password')
    assert.ok(event.ip_hash === undefined || !/^\d+\.\d+\.\d+\.\d+$/.test(event.ip_hash), 'no raw IP')

    let token: string | undefined
    await waitUntil(async () => (token = await verificationTokenFor(stack, email)) !== undefined, { timeoutMs: 15_000, what: 'the verification mail' })

    const verified = await stack.client.request('POST', '/auth/email/verify', { json: { token } })
    assert.equal(verified.status, 204, verified.text)
    const login = await stack.client.request('POST', '/auth/login', { json: { email, password: GOOD_PASSWORD } })
    assert.equal(login.status, 200, login.text)
    const me = await stack.client.request('GET', '/auth/me', { token: login.body.access_token as string })
    assert.equal(me.status, 200, me.text)
    assert.equal(me.body.email_verified, true)

    const again = await stack.client.request('POST', '/auth/email/verify', { json: { token } })
    assertProblem(again, 400, 'invalid_token')
    const bogus = await stack.client.request('POST', '/auth/email/verify', { json: { token: randomBytes(32).toString('base64url') } })
    assertProblem(bogus, 400, 'invalid_token')
    await waitUntil(() => seen.some((e) => e.type === 'auth.email.verified' && e.subject?.id === userId), { timeoutMs: 10_000, what: 'auth.email.verified' })
    await waitUntil(() => seen.some((e) => e.type === 'auth.login.succeeded' && e.subject?.id === userId), { timeoutMs: 10_000, what: 'auth.login.succeeded' })
  })

  it('a failed login for an unknown address publishes auth.login.failed with an e-mail subject', async () => {
    const email = uniqueEmail('nobody')
    const failed = await stack.client.request('POST', '/auth/login', { json: { email, password: 'not the password at all' } })
    assertProblem(failed, 401, 'invalid_credentials')

    const match = (e: EventEnvelope) => e.type === 'auth.login.failed' && e.subject?.type === 'email'
    await waitUntil(() => seen.some(match), { timeoutMs: 10_000, what: 'auth.login.failed' })
    const event = seen.find(match)!
    assert.equal(event.outcome, 'failure')
    assert.notEqual(event.subject!.id, email)
    assert.ok(!JSON.stringify(event).includes(email), 'the unknown address is only a keyed hash')
    assert.ok(!JSON.stringify(event).includes('not the password at all'))
  })
})
