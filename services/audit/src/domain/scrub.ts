import { isIP } from 'node:net'

/** Keys whose values never reach the audit log, at any depth (issue 3, CONTRACT §7). */
export const SECRET_KEY = /password|token|secret|key|authorization|cookie/i
export const REDACTED = '[redacted]'

// PostgreSQL text and jsonb cannot hold NUL, and jsonb refuses lone UTF-16 surrogates: both are
// replaced, so a hostile string in an event cannot make a batch fail to store.
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** A string made storable: NUL and lone surrogates become U+FFFD. */
export function storableText(value: string): string {
  return value.replace(UNSTORABLE, '\uFFFD')
}

/**
 * The `details` of an audit record from an event's `data`: every member whose key matches
 * {@link SECRET_KEY} becomes `"[redacted]"`, recursively through objects and arrays; any string
 * that is an IP address becomes `"[redacted]"` too (raw IPs are never stored; events carry
 * `ip_hash`); strings are made storable. The result is plain JSON (no `undefined`, no
 * non-finite numbers), so what is hashed is exactly what the database gives back.
 */
export function scrubDetails(data: Record<string, unknown>): Record<string, unknown> {
  return scrubValue(data) as Record<string, unknown>
}

function scrubValue(value: unknown): unknown {
  if (value === null || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : null
  if (typeof value === 'string') return isIP(value) ? REDACTED : storableText(value)
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : scrubValue(item)))
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
      if (member === undefined) continue
      out[storableText(key)] = SECRET_KEY.test(key) ? REDACTED : scrubValue(member)
    }
    return out
  }
  return null
}
