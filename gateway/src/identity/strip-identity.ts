import type { IncomingHttpHeaders } from 'node:http'

const IDENTITY_PREFIXES = ['x-user-', 'x-authenticated-', 'x-auth-', 'x-forwarded-user', 'x-remote-user', 'x-client-']

/**
 * Removes every header a client could use to claim an identity (CONTRACT §3). Only the gateway,
 * after verifying a token, sets identity headers on the way to a service.
 */
export function stripIdentityHeaders(headers: IncomingHttpHeaders): void {
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase()
    if (IDENTITY_PREFIXES.some((prefix) => lower.startsWith(prefix)) || lower === 'x-user' || lower === 'remote-user') {
      delete headers[name]
    }
  }
}
