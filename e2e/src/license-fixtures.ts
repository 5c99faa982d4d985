import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { Agent, fetch as undiciFetch } from 'undici'
import { createLicenseClient, type Jwks, type LicenseClient } from '@platform/license-client'
import type { TestClient } from '@platform/testkit'
import { GOOD_PASSWORD, registerAndLogin, uniqueEmail, type Stack } from './stack.ts'

export type TestUser = { id: string; email: string; accessToken: string }

/**
 * A registered user with `roles`. There is no admin API for roles yet, so they are written to
 * auth's database directly and the user logs in again to get a token that carries them.
 */
export async function userWithRoles(stack: Stack, roles: string[], client: TestClient = stack.client, email = uniqueEmail(roles[0] ?? 'user')): Promise<TestUser> {
  const user = await registerAndLogin(client, email)
  if (roles.length === 1 && roles[0] === 'user') return { id: user.id, email, accessToken: user.accessToken }
  await stack.platform.auth.deps.db.updateTable('users').set({ roles }).where('id', '=', user.id).execute()
  return { id: user.id, email, accessToken: await login(client, email) }
}

/** Logs in again (after a change made behind auth's back) and returns the new access token. */
export async function login(client: TestClient, email: string): Promise<string> {
  const res = await client.request('POST', '/auth/login', { json: { email, password: GOOD_PASSWORD } })
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`)
  return res.body.access_token as string
}

/** Issues a license through the gateway and returns the 201 body (with its `key`). */
export async function issueLicense(client: TestClient, token: string, body: Record<string, unknown> = {}) {
  const res = await client.request('POST', '/licenses', { token, json: { product: 'editor-pro', max_machines: 3, ...body } })
  if (res.status !== 201) throw new Error(`issue failed: ${res.status} ${res.text}`)
  return res.body as { id: string; key: string; product: string; [field: string]: unknown }
}

/** A fresh machine fingerprint, as a desktop app would compute from its hardware. */
export function newFingerprint(tag = 'machine'): string {
  return `${tag}:${randomBytes(12).toString('hex')}`
}

/** The license service's database of this stack, for changes no route makes (lowering a limit, time passing). */
export function licenseDb(stack: Stack) {
  return stack.platform.license.deps.db
}

/** A fetch that trusts the stack's dev CA, as a desktop app shipping with the CA would. */
export function fetchFor(stack: Stack): { fetch: typeof fetch; close(): Promise<void> } {
  const caPath = stack.platform.gateway.caPath
  const dispatcher = new Agent({ connect: caPath ? { ca: readFileSync(caPath) } : {} })
  const bound = ((input: string | URL, init?: RequestInit) => undiciFetch(String(input), { ...(init as object), dispatcher })) as unknown as typeof fetch
  return { fetch: bound, close: () => dispatcher.close() }
}

/** The published license-token keys, fetched once through the gateway: what an app pins at build time. */
export async function pinnedJwks(client: TestClient): Promise<Jwks> {
  const res = await client.request('GET', '/licenses/.well-known/jwks.json')
  if (res.status !== 200) throw new Error(`jwks failed: ${res.status} ${res.text}`)
  return res.body as Jwks
}

/** `@platform/license-client` pointed at the stack's gateway, as the desktop app would use it. */
export async function licenseClientFor(stack: Stack, product: string, opts: { now?: () => number } = {}): Promise<{ client: LicenseClient; close(): Promise<void> }> {
  const transport = fetchFor(stack)
  const client = createLicenseClient({
    baseUrl: stack.url,
    product,
    issuer: `${stack.platform.license.deps.tokens.issuer}`,
    jwks: await pinnedJwks(stack.client),
    fetch: transport.fetch,
    ...(opts.now ? { now: opts.now } : {}),
  })
  return { client, close: transport.close }
}
