import { currentRequestId } from '@platform/platform'
import type { EmailDirectory } from '../domain/deps.ts'

const CACHE_TTL_MS = 10 * 60_000
const CACHE_MAX_ENTRIES = 10_000
const TIMEOUT_MS = 2000

/**
 * Learns a caller's e-mail from auth's `GET /auth/me`, called with the caller's own access
 * token (so it needs no privileged credential and reveals nothing the caller could not read).
 * Answers are cached per user for 10 minutes; failures are not cached.
 */
export function createAuthEmailDirectory(opts: { authUrl: string; fetch?: typeof fetch; now?: () => number }): EmailDirectory {
  const doFetch = opts.fetch ?? fetch
  const now = opts.now ?? Date.now
  const cache = new Map<string, { email: string | undefined; until: number }>()

  return {
    async emailOf(userId, accessToken) {
      const hit = cache.get(userId)
      if (hit && hit.until > now()) return hit.email
      const requestId = currentRequestId()
      const response = await doFetch(`${opts.authUrl}/auth/me`, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', ...(requestId ? { 'x-request-id': requestId } : {}) },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })
      if (!response.ok) throw new Error(`auth /auth/me answered ${response.status}`)
      const body = (await response.json()) as { id?: unknown; email?: unknown; email_verified?: unknown }
      const email = body.id === userId && body.email_verified === true && typeof body.email === 'string' ? body.email.toLowerCase() : undefined
      if (cache.size >= CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value!)
      cache.set(userId, { email, until: now() + CACHE_TTL_MS })
      return email
    },
  }
}
