import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { waitUntil } from '@platform/testkit'
import { adminOf, publishEvents, waitForAudit, type AuditRecord } from '../src/audit-fixtures.ts'
import { assertProblem, RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { registerAndLogin, startStack, type Stack } from '../src/stack.ts'

describe('audit through the gateway: events, access, alerts', () => {
  let stack: Stack
  let admin: { id: string; accessToken: string }

  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS })
    admin = await adminOf(stack)
  })
  after(() => stack?.stop())

  describe('GET /audit/events', () => {
    it('when events were published, an admin reads them back newest first, scrubbed, with their chain fields', async () => {
      const actor = randomUUID()
      const [first, second] = await publishEvents(
        stack,
        { type: 'auth.password_reset.completed', actor_id: actor, subject: { type: 'user', id: actor }, request_id: 'e2e-req-1', data: { email: 'x@example.com', reset_token: 'plain-secret', expires_at: '2026-01-01T00:30:00Z' } },
        { type: 'auth.password.changed', actor_id: actor, subject: { type: 'user', id: actor }, outcome: 'success', occurred_at: new Date(Date.now() + 1000).toISOString(), data: {} },
      )
      await waitForAudit(stack, [first!.id, second!.id])

      const res = await stack.client.request('GET', `/audit/events?actor_id=${actor}`, { token: admin.accessToken })

      assert.equal(res.status, 200, res.text)
      assert.equal(res.body.next_cursor, null)
      const items = res.body.items as AuditRecord[]
      assert.deepEqual(items.map((r) => r.action), ['auth.password.changed', 'auth.password_reset.completed'])
      assert.deepEqual(items[1]!.details, { email: 'x@example.com', reset_token: '[redacted]', expires_at: '2026-01-01T00:30:00Z' })
      assert.doesNotMatch(res.text, /plain-secret/)
      assert.equal(items[1]!.request_id, 'e2e-req-1')
      for (const record of items) {
        assert.match(record.hash, /^[0-9a-f]{64}$/)
        assert.match(record.prev_hash, /^[0-9a-f]{64}$/)
        assert.ok(Number.isSafeInteger(record.seq))
      }
    })

    it('when one event is delivered twice, it is recorded once', async () => {
      const actor = randomUUID()
      const [event] = await publishEvents(stack, { type: 'license.license.revoked', source: 'license', actor_id: actor, data: { license_id: randomUUID() } })
      await stack.platform.bus.publish(event!)
      await stack.platform.bus.publish(event!)
      await waitForAudit(stack, [event!.id])
      // A marker published after the copies: once it is stored, the copies were handled too.
      const [marker] = await publishEvents(stack, { actor_id: actor })
      await waitForAudit(stack, [marker!.id])

      const res = await stack.client.request('GET', `/audit/events?actor_id=${actor}&action=license.license.revoked`, { token: admin.accessToken })

      assert.deepEqual((res.body.items as AuditRecord[]).map((r) => r.id), [event!.id])
    })

    it('when the caller is not an admin, answers 403 forbidden; without a token, 401', async () => {
      const user = await registerAndLogin(stack.client)

      for (const path of ['/audit/events', '/audit/export', '/audit/integrity', '/audit/digests']) {
        assertProblem(await stack.client.request('GET', path, { token: user.accessToken }), 403, 'forbidden', path)
        assertProblem(await stack.client.request('GET', path), 401, 'unauthorized', path)
      }
    })
  })

  describe('GET /audit/me', () => {
    it('when records name the caller as actor or subject, the caller sees those and nothing else', async () => {
      const user = await registerAndLogin(stack.client)
      const stranger = randomUUID()
      const events = await publishEvents(
        stack,
        { type: 'auth.login.succeeded', actor_id: user.id, subject: { type: 'user', id: user.id }, outcome: 'success' },
        { type: 'auth.login.failed', subject: { type: 'user', id: user.id }, outcome: 'failure', data: { reason: 'invalid_credentials' } },
        { type: 'auth.session.revoked', actor_id: user.id, subject: { type: 'session', id: randomUUID() } },
        { type: 'auth.login.succeeded', actor_id: stranger, subject: { type: 'user', id: stranger } },
      )
      await waitForAudit(stack, events.map((e) => e.id))

      const res = await stack.client.request('GET', '/audit/me?limit=500', { token: user.accessToken })

      assert.equal(res.status, 200, res.text)
      const ids = (res.body.items as AuditRecord[]).map((r) => r.id)
      assert.deepEqual(ids.filter((id) => events.some((e) => e.id === id)).sort(), events.slice(0, 3).map((e) => e.id).sort())
      assert.ok(!ids.includes(events[3]!.id))
    })
  })

  describe('failed-login alerts', () => {
    it('when one account fails to log in 6 times within 5 minutes, one alert is raised for the account and one for the IP hash', async () => {
      const account = randomUUID()
      const ipHash = randomUUID().replaceAll('-', '').repeat(2)
      const start = Date.now() - 30_000
      const failures = await publishEvents(
        stack,
        ...Array.from({ length: 6 }, (_, i) => ({ type: 'auth.login.failed', subject: { type: 'user', id: account }, ip_hash: ipHash, outcome: 'failure' as const, occurred_at: new Date(start + i * 1000).toISOString(), data: { reason: 'invalid_credentials' } })),
      )
      await waitForAudit(stack, failures.map((e) => e.id))

      let alerts: AuditRecord[] = []
      await waitUntil(
        async () => {
          const res = await stack.client.request('GET', '/audit/events?action=audit.alert.raised&limit=500', { token: admin.accessToken })
          alerts = (res.body.items as AuditRecord[]).filter((r) => r.details.subject === account || r.details.subject === ipHash)
          return alerts.length >= 2
        },
        { timeoutMs: 15_000, what: 'two alerts recorded' },
      )
      // Anything later would have been raised by now: the failures' batch raised them together.
      const [marker] = await publishEvents(stack, { data: { marker: true } })
      await waitForAudit(stack, [marker!.id])
      const final = (await stack.client.request('GET', '/audit/events?action=audit.alert.raised&limit=500', { token: admin.accessToken })).body.items as AuditRecord[]

      assert.deepEqual(
        final.filter((r) => r.details.subject === account || r.details.subject === ipHash).map((r) => r.details).sort((a, b) => String(a.rule).localeCompare(String(b.rule))),
        [
          { rule: 'failed_logins_account', subject: account, count: 5, window_s: 300 },
          { rule: 'failed_logins_ip', subject: ipHash, count: 5, window_s: 300 },
        ],
      )
      assert.ok(alerts.every((r) => r.source === 'audit'))
    })
  })
})
