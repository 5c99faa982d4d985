import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import type { JsonResponse, TestClient } from '@platform/testkit'
import { clientFrom, GOOD_PASSWORD, uniqueEmail, type Stack } from './stack.ts'

/** The first administrator of stacks started with {@link ADMIN_ENV}. */
export const ADMIN = { email: 'root-admin@example.com', password: 'an admin passphrase nobody guesses' }

/** Stack settings that create {@link ADMIN} at start (BOOTSTRAP_ADMIN_*). */
export const ADMIN_ENV = { BOOTSTRAP_ADMIN_EMAIL: ADMIN.email, BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password }

export type Session = { accessToken: string; refreshToken: string; sessionId: string }

/** A client of its own (its own loopback address, so its own per-IP budgets), closed after the test. */
export function ownClient(t: TestContext, stack: Stack, localAddress?: string): TestClient {
  const client = clientFrom(stack, localAddress)
  t.after(() => client.close())
  return client
}

/** Logs in and asserts it worked. */
export async function loginAs(client: TestClient, email: string, password = GOOD_PASSWORD, headers: Record<string, string> = {}): Promise<Session> {
  const res = await client.request('POST', '/auth/login', { json: { email, password }, headers })
  assert.equal(res.status, 200, `login of ${email}: ${res.text}`)
  const accessToken = res.body.access_token as string
  return { accessToken, refreshToken: res.body.refresh_token as string, sessionId: jwtPart(accessToken, 1).sid as string }
}

/** Registers a fresh user and returns its id and e-mail (no session). */
export async function registerUser(client: TestClient, email = uniqueEmail()): Promise<{ id: string; email: string }> {
  const res = await client.request('POST', '/auth/register', { json: { email, password: GOOD_PASSWORD } })
  assert.equal(res.status, 201, `register: ${res.text}`)
  return { id: res.body.id as string, email }
}

/** The decoded JSON of a JWT's header (0) or payload (1); no verification. */
export function jwtPart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
}

/** The sum of a counter (all label sets) on the auth service's own `/metrics` (not public). */
export async function authCounter(stack: Stack, name: string): Promise<number> {
  const text = await (await fetch(`${stack.platform.auth.url}/metrics`)).text()
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

/** Every `Set-Cookie` of an answer, one entry each. */
export function setCookies(res: JsonResponse): string[] {
  return (res.response.headers as unknown as { getSetCookie(): string[] }).getSetCookie()
}

/** The `Set-Cookie` line of cookie `name`, asserting there is exactly one. */
export function setCookie(res: JsonResponse, name: string): string {
  const lines = setCookies(res).filter((line) => line.startsWith(`${name}=`))
  assert.equal(lines.length, 1, `one Set-Cookie for ${name}: ${JSON.stringify(setCookies(res))}`)
  return lines[0]!
}

/** The value part of a `Set-Cookie` line. */
export function cookieValue(line: string): string {
  return decodeURIComponent(line.slice(line.indexOf('=') + 1, line.indexOf(';') === -1 ? undefined : line.indexOf(';')))
}

/** The attributes of a `Set-Cookie` line, in order, `Expires` left out (it depends on the clock). */
export function cookieAttributes(line: string): string[] {
  return line
    .split(';')
    .slice(1)
    .map((part) => part.trim())
    .filter((part) => !/^expires=/i.test(part))
}
