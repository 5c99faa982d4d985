import { readFileSync } from 'node:fs'
import { Agent, fetch, type Response } from 'undici'

// `any` on purpose: tests read arbitrary JSON answers and assert on them field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonResponse = { status: number; headers: Headers; body: any; text: string; response: Response }

/** A small HTTP client for tests: one keep-alive agent trusting the stack's dev CA. */
export type TestClient = {
  request(method: string, path: string, opts?: { json?: unknown; body?: string | Buffer; headers?: Record<string, string>; token?: string }): Promise<JsonResponse>
  close(): Promise<void>
}

/**
 * A client for `baseUrl` that trusts the CA in `caPath` (and nothing else), as a real client of
 * the platform would after installing the dev CA. Bodies are parsed as JSON when they are JSON.
 * `localAddress` (e.g. `127.0.0.7`) makes the client connect from that address, so tests can act
 * as distinct clients towards per-IP rate limits without trusting `X-Forwarded-For`.
 */
export function createTestClient(baseUrl: string, opts: { caPath?: string; localAddress?: string } = {}): TestClient {
  const dispatcher = new Agent({
    connect: opts.caPath ? { ca: readFileSync(opts.caPath) } : {},
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  })
  return {
    async request(method, path, { json, body, headers = {}, token } = {}) {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        dispatcher,
        redirect: 'manual',
        headers: {
          ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        body: json !== undefined ? JSON.stringify(json) : body,
      })
      const text = await response.text()
      let parsed: unknown = undefined
      try {
        parsed = text ? JSON.parse(text) : undefined
      } catch {
        parsed = undefined
      }
      return { status: response.status, headers: response.headers as unknown as Headers, body: parsed, text, response }
    },
    close: () => dispatcher.close(),
  }
}
