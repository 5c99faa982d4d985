import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { JsonResponse } from '@platform/testkit'
import { DEFAULT_POLICIES } from '@platform/gateway'

/**
 * Rate limits high enough that a test file's own traffic never meets them: every policy of the
 * gateway at 10 000 a minute. The rate-limit suites prove the real numbers. Pass as
 * `RATE_LIMITS` to `startStack`.
 */
export const RELAXED_RATE_LIMITS = JSON.stringify(
  Object.fromEntries(Object.keys(DEFAULT_POLICIES).map((name) => [name, { limit: 10_000, window_s: 60 }])),
)

/** The exact keys of a problem body (CONTRACT §2); `errors` only on `validation_failed`. */
const PROBLEM_KEYS = ['code', 'detail', 'request_id', 'status', 'title', 'type']

/**
 * Asserts an RFC 9457 answer: the status, `application/problem+json`, `code`, exactly the
 * contract's fields, a `request_id` equal to the `X-Request-Id` header, and no stack trace.
 */
export function assertProblem(res: JsonResponse, status: number, code: string, message = `${status} ${code}`): void {
  assert.equal(res.status, status, `${message}: status (body ${res.text})`)
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, `${message}: content-type`)
  assert.equal(res.body?.code, code, `${message}: code (body ${res.text})`)
  assert.equal(res.body.status, status, `${message}: body status`)
  const expectedKeys = code === 'validation_failed' ? [...PROBLEM_KEYS, 'errors'].sort() : PROBLEM_KEYS
  assert.deepEqual(Object.keys(res.body).sort(), expectedKeys, `${message}: fields`)
  assert.equal(res.body.request_id, res.headers.get('x-request-id'), `${message}: request_id`)
  assert.doesNotMatch(res.text, /\bat [^\s]+ \(|node:internal|\.ts:\d+/, `${message}: no stack trace`)
}

/** A local port nothing listens on: bound by the OS, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await listen(server)
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
  return port
}

/** What the echo upstream saw of one request. */
export type EchoedRequest = { method: string; url: string; headers: IncomingHttpHeaders }

export type EchoServer = {
  url: string
  /** Requests received so far, oldest first. */
  received: EchoedRequest[]
  close(): Promise<void>
}

/**
 * A stand-in upstream service on 127.0.0.1: it answers 200 with JSON of the request it received
 * (method, url, headers), except under `/licenses/hang`, which it never answers, so a test can
 * watch the gateway's upstream timeout.
 */
export async function startEchoServer(): Promise<EchoServer> {
  const received: EchoedRequest[] = []
  const server = createServer((req, res) => {
    const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers }
    received.push(seen)
    req.resume()
    if (seen.url.startsWith('/licenses/hang')) return
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(seen))
    })
  })
  await listen(server)
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function listen(server: Server): Promise<void> {
  server.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
}
