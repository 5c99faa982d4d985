import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createEnvelope } from '@platform/bus'
import { startSmtpSink, type SmtpSink } from '@platform/notification/testing'
import { sealSecret, uuidv7 } from '@platform/platform'
import { waitUntil } from '@platform/testkit/infra'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { GOOD_PASSWORD, registerAndLogin, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

describe('notification through the gateway', () => {
  let stack: Stack
  let sink: SmtpSink
  before(async () => {
    sink = await startSmtpSink()
    stack = await startStack({ SMTP_URL: sink.url, RATE_LIMITS: RELAXED_RATE_LIMITS, NOTIFICATION_POLL_MS: '50' })
  })
  after(async () => {
    await stack.stop()
    await sink.stop()
  })

  /** Publishes `auth.user.registered` as auth does, the token sealed with the stack's mail token key. */
  async function publishRegistration(email: string, token: string) {
    const key = (await readFile(join(stack.dataDir, 'secrets', 'mail-token-key'), 'utf8')).trim()
    const event = createEnvelope({
      type: 'auth.user.registered',
      source: 'auth',
      subject: { type: 'user', id: uuidv7() },
      data: { email, verification_token_sealed: sealSecret(key, token) },
    })
    await stack.platform.bus.publish(event)
    return event
  }

  async function loginAsAdmin(): Promise<string> {
    const admin = await registerAndLogin(stack.client, uniqueEmail('admin'))
    await stack.platform.auth.deps.db.updateTable('users').set({ roles: ['user', 'admin'] }).where('id', '=', admin.id).execute()
    const login = await stack.client.request('POST', '/auth/login', { json: { email: admin.email, password: GOOD_PASSWORD } })
    assert.equal(login.status, 200)
    return login.body.access_token as string
  }

  it('when an event is delivered twice, one mail goes out, and an admin sees its delivery as sent', async () => {
    const email = uniqueEmail('mail')
    const token = randomBytes(32).toString('base64url')

    const event = await publishRegistration(email, token)
    await stack.platform.bus.publish(event)
    await waitUntil(() => sink.to(email).length === 1, { timeoutMs: 10_000, what: 'the verification mail' })
    const adminToken = await loginAsAdmin()
    const listed = await stack.client.request('GET', `/notifications/deliveries?to=${encodeURIComponent(email)}`, { token: adminToken })

    assert.equal(listed.status, 200, listed.text)
    assert.equal(listed.body.next_cursor, null)
    assert.equal(listed.body.items.length, 1)
    const [delivery] = listed.body.items
    assert.equal(delivery.event_id, event.id)
    assert.equal(delivery.event_type, 'auth.user.registered')
    assert.equal(delivery.to, email)
    assert.equal(delivery.template, 'verify_email')
    assert.equal(delivery.status, 'sent')
    assert.equal(delivery.attempts, 1)
    assert.equal(delivery.last_error, null)
    const [mail] = sink.to(email)
    assert.equal(mail!.messageId, `<${delivery.id}@localhost>`)
    assert.ok(mail!.text?.includes(`https://localhost:8443/verify-email?token=${token}`))
    assert.equal(sink.to(email).length, 1)
  })

  it('when a non-admin asks for the deliveries, answers 403 forbidden; without a token, 401', async () => {
    const user = await registerAndLogin(stack.client, uniqueEmail('plain'))

    const forbidden = await stack.client.request('GET', '/notifications/deliveries', { token: user.accessToken })
    const anonymous = await stack.client.request('GET', '/notifications/deliveries')

    assertProblem(forbidden, 403, 'forbidden')
    assertProblem(anonymous, 401, 'unauthorized')
  })

  it('when the status filter is not a status, answers 400 validation_failed at /status', async () => {
    const adminToken = await loginAsAdmin()

    const res = await stack.client.request('GET', '/notifications/deliveries?status=lost', { token: adminToken })

    assertProblem(res, 400, 'validation_failed')
    assert.deepEqual(res.body.errors.map((e: { path: string }) => e.path), ['/status'])
  })
})
