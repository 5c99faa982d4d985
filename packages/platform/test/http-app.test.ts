import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { describe, it, type TestContext } from 'node:test'
import { z } from 'zod'
import { AppError, createHttpApp, createLogger, createMetrics, finishHttpApp, parseInput } from '../src/index.ts'

async function serve(t: TestContext, readiness: Record<string, () => Promise<unknown>> = {}) {
  const lines: string[] = []
  const log = createLogger('test', {
    level: 'debug',
    destination: new Writable({ write: (chunk, _enc, done) => (lines.push(chunk.toString()), done()) }),
  })
  const app = createHttpApp({ log, metrics: createMetrics('test'), readiness })
  const Body = z.strictObject({ email: z.email(), password: z.string().min(8) })
  app.post('/things', (req, res) => {
    const body = parseInput(Body, req.body)
    log.info({ body }, 'got a thing')
    res.status(201).json({ email: body.email })
  })
  app.get('/boom', () => {
    throw new Error('SELECT secret FROM internal_table at db.internal:5432')
  })
  app.get('/store-down', async () => {
    // What node-postgres rejects with when the database does not take connections.
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })
  })
  app.get('/locked', () => {
    throw new AppError('account_locked', 'Try again later')
  })
  finishHttpApp(app, { log })
  const server = app.listen(0)
  t.after(() => server.close())
  await new Promise((resolve) => server.once('listening', resolve))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { base, lines }
}

type Answer = { code: string; request_id: string; errors: { path: string }[] }
const readJson = async (res: Response) => (await res.json()) as Answer

const post = (url: string, body: string, type = 'application/json', headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': type, ...headers } })

describe('createHttpApp', () => {
  it('when a body has an unknown field, answers 400 validation_failed with a JSON Pointer per problem', async (t) => {
    const { base } = await serve(t)
    const res = await post(`${base}/things`, JSON.stringify({ email: 'nope', password: 'longenough', admin: true }))
    const body = await readJson(res)
    assert.equal(res.status, 400)
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8')
    assert.equal(body.code, 'validation_failed')
    assert.deepEqual(body.errors.map((e) => e.path).sort(), ['/admin', '/email'])
    assert.deepEqual(Object.keys(body).sort(), ['code', 'detail', 'errors', 'request_id', 'status', 'title', 'type'])
  })

  it('when the body is over 1 MiB, answers 413 payload_too_large', async (t) => {
    const { base } = await serve(t)
    const res = await post(`${base}/things`, JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(1024 * 1024 + 10) }))
    assert.equal(res.status, 413)
    assert.equal((await readJson(res)).code, 'payload_too_large')
  })

  it('when the body is malformed JSON or not JSON, answers 400 malformed_json or 415', async (t) => {
    const { base } = await serve(t)
    const malformed = await post(`${base}/things`, '{"email":')
    const plain = await post(`${base}/things`, 'email=a', 'text/plain')
    assert.equal(malformed.status, 400)
    assert.equal((await readJson(malformed)).code, 'malformed_json')
    assert.equal(plain.status, 415)
    assert.equal((await readJson(plain)).code, 'unsupported_media_type')
  })

  it('when a handler throws an unknown error, answers a bare 500 without the message, and logs it', async (t) => {
    const { base, lines } = await serve(t)
    const res = await fetch(`${base}/boom`)
    const text = await res.text()
    assert.equal(res.status, 500)
    assert.equal(JSON.parse(text).code, 'internal_error')
    assert.doesNotMatch(text, /SELECT|internal_table|db\.internal|at /)
    assert.ok(lines.some((l) => l.includes('internal_table')))
  })

  it('when a store is unreachable, answers 503 dependency_unavailable with Retry-After, not 500', async (t) => {
    const { base } = await serve(t)
    const res = await fetch(`${base}/store-down`)
    assert.equal(res.status, 503)
    assert.equal((await readJson(res)).code, 'dependency_unavailable')
    assert.ok(Number(res.headers.get('retry-after')) > 0)
  })

  it('keeps a well-formed X-Request-Id, replaces a bad one, and puts it on every log line of the request', async (t) => {
    const { base, lines } = await serve(t)
    const kept = await post(`${base}/things`, JSON.stringify({ email: 'a@b.co', password: 'longenough' }), 'application/json', { 'x-request-id': 'abc-123._X' })
    const replaced = await fetch(`${base}/locked`, { headers: { 'x-request-id': 'bad id!' } })
    assert.equal(kept.headers.get('x-request-id'), 'abc-123._X')
    assert.notEqual(replaced.headers.get('x-request-id'), 'bad id!')
    assert.equal((await readJson(replaced)).request_id, replaced.headers.get('x-request-id'))
    const line = lines.find((l) => l.includes('got a thing'))!
    assert.equal(JSON.parse(line).request_id, 'abc-123._X')
  })

  it('never writes a password to the log', async (t) => {
    const { base, lines } = await serve(t)
    await post(`${base}/things`, JSON.stringify({ email: 'a@b.co', password: 'hunter2-secret-pw' }))
    assert.ok(lines.some((l) => l.includes('got a thing')))
    assert.ok(lines.every((l) => !l.includes('hunter2-secret-pw')))
  })

  it('serves /healthz, /metrics with the route histogram, and /readyz naming what is down', async (t) => {
    const { base } = await serve(t, { database: async () => {}, kv: () => Promise.reject(new Error('down')) })
    await fetch(`${base}/locked`)
    const health = await fetch(`${base}/healthz`)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    const ready = await fetch(`${base}/readyz`)
    assert.equal(health.status, 200)
    assert.match(metrics, /http_request_duration_seconds_count\{[^}]*route="\/locked"[^}]*status="423"/)
    assert.equal(ready.status, 503)
    assert.deepEqual(await ready.json() as unknown, { status: 'unavailable', checks: { database: 'up', kv: 'down' }, down: ['kv'] })
  })

  it('sets the security headers and no X-Powered-By', async (t) => {
    const { base } = await serve(t)
    const res = await fetch(`${base}/healthz`)
    assert.equal(res.headers.get('content-security-policy'), "default-src 'none';frame-ancestors 'none'")
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff')
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer')
    assert.equal(res.headers.get('x-powered-by'), null)
  })
})
