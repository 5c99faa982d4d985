import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it, type TestContext } from 'node:test'
import { createMemoryKv } from '@platform/kv'
import { uuidv7 } from '@platform/platform'
import { waitUntil } from '@platform/testkit/infra'
import { generateSigningKey, revocationKeys, signAccessToken, toJwks } from '@platform/tokens'
import { BACKENDS, PUBLIC_URL, registeredEvent, startService, uniqueEmail } from './fixtures.ts'
import { startSmtpSink } from './smtp-sink.ts'

/** An auth stand-in: a JWKS endpoint and the shared store with the revocation lists loaded. */
async function startAuthStandIn(t: TestContext) {
  const key = generateSigningKey()
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify(toJwks([key])))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const kv = createMemoryKv()
  t.after(() => kv.close())
  await kv.set(revocationKeys.ready(), '1')
  const tokenFor = (roles: string[]) =>
    signAccessToken({ key, issuer: PUBLIC_URL, audience: 'platform', ttlSeconds: 300, subject: uuidv7(), sessionId: uuidv7(), roles, emailVerified: true }).token
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, kv, tokenFor }
}

for (const backend of BACKENDS) {
  describe(`${backend.name}: GET /notifications/deliveries`, { skip: backend.skip }, () => {
    it('lists deliveries to admins only, filtered by recipient and status, page by page', async (t) => {
      const auth = await startAuthStandIn(t)
      const sink = await startSmtpSink({ reject: (address) => address.startsWith('bounce-') })
      t.after(() => sink.stop())
      const service = await startService(t, backend, { SMTP_URL: sink.url, AUTH_URL: auth.url, NOTIFICATION_MAX_ATTEMPTS: '1' }, { kv: auth.kv })
      const email = uniqueEmail('listed')
      const events = [registeredEvent(email), registeredEvent(email), registeredEvent(uniqueEmail('bounce'))]
      // One after another: the listing is newest first, and concurrent handlers could record in any order.
      for (const { event } of events) {
        await service.publish(event)
        await waitUntil(() => service.consumedCount(event.id) === 1, { what: 'the event consumed' })
      }
      await waitUntil(async () => {
        const rows = await service.deliveries()
        return rows.length === 3 && rows.every((row) => row.status === 'sent' || row.status === 'dead')
      }, { what: 'three settled deliveries' })
      const get = (path: string, token?: string) =>
        fetch(`${service.notification.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
      const admin = auth.tokenFor(['user', 'admin'])

      const anonymous = await get('/notifications/deliveries')
      const user = await get('/notifications/deliveries', auth.tokenFor(['user']))
      const all = await get('/notifications/deliveries', admin)

      assert.equal(anonymous.status, 401)
      assert.equal(user.status, 403)
      assert.equal(user.headers.get('content-type'), 'application/problem+json; charset=utf-8')
      assert.equal(((await user.json()) as { code: string }).code, 'forbidden')
      assert.equal(all.status, 200)
      const body = (await all.json()) as { items: Record<string, unknown>[]; next_cursor: string | null }
      assert.equal(body.next_cursor, null)
      assert.equal(body.items.length, 3)
      assert.deepEqual(Object.keys(body.items[0]!).sort(), ['attempts', 'created_at', 'event_id', 'event_type', 'id', 'last_error', 'sent_at', 'status', 'template', 'to'])
      assert.deepEqual(body.items.map((item) => item.event_id), events.map(({ event }) => event.id).reverse(), 'newest first')
      const [dead, second, first] = body.items
      assert.equal(dead!.status, 'dead')
      assert.equal(dead!.attempts, 1)
      assert.match(String(dead!.last_error), /^SMTP 550/)
      assert.equal(dead!.sent_at, null)
      assert.deepEqual(
        { ...first, id: undefined, created_at: undefined, sent_at: undefined },
        { id: undefined, event_id: events[0]!.event.id, event_type: 'auth.user.registered', to: email, template: 'verify_email', status: 'sent', attempts: 1, last_error: null, created_at: undefined, sent_at: undefined },
      )
      assert.match(String(second!.sent_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

      const byRecipient = (await (await get(`/notifications/deliveries?to=${encodeURIComponent(` ${email.toUpperCase()} `)}&status=sent&limit=1`, admin)).json()) as typeof body
      assert.deepEqual(byRecipient.items.map((item) => item.id), [second!.id])
      assert.ok(byRecipient.next_cursor)
      const page2 = (await (await get(`/notifications/deliveries?to=${encodeURIComponent(email)}&status=sent&limit=1&cursor=${byRecipient.next_cursor}`, admin)).json()) as typeof body
      assert.deepEqual(page2.items.map((item) => item.id), [first!.id])
      assert.equal(page2.next_cursor, null)
      const deadOnly = (await (await get('/notifications/deliveries?status=dead', admin)).json()) as typeof body
      assert.deepEqual(deadOnly.items.map((item) => item.id), [dead!.id])
    })

    it('when the query is bad, answers 400 validation_failed naming the parameter', async (t) => {
      const auth = await startAuthStandIn(t)
      const service = await startService(t, backend, { AUTH_URL: auth.url }, { kv: auth.kv })
      const admin = auth.tokenFor(['admin'])
      for (const [query, path] of [
        ['status=lost', '/status'],
        ['cursor=not-a-cursor', '/cursor'],
        ['limit=501', '/limit'],
        ['to=nobody', '/to'],
        ['colour=red', '/colour'],
      ] as const) {
        const res = await fetch(`${service.notification.url}/notifications/deliveries?${query}`, { headers: { authorization: `Bearer ${admin}` } })
        const problem = (await res.json()) as { code: string; errors: { path: string }[] }
        assert.equal(res.status, 400, query)
        assert.equal(problem.code, 'validation_failed', query)
        assert.deepEqual(problem.errors.map((e) => e.path), [path], query)
      }
    })
  })
}
