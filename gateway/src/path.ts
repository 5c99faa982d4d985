/**
 * The form of a path the gateway decides on: percent-decoded, lower-case, repeated slashes
 * collapsed, no trailing slash. The services' routers ignore case and a trailing slash, so the
 * gateway must too, or `/Auth/Login/` would slip past the login limit or a blocked route.
 */
export function canonicalPath(path: string): string {
  let decoded = path
  try {
    decoded = decodeURIComponent(path)
  } catch {
    // A malformed escape cannot match a route upstream either; decide on the raw form.
  }
  const collapsed = decoded.toLowerCase().replace(/\/{2,}/g, '/').replace(/\/+$/, '')
  return collapsed === '' ? '/' : collapsed
}

const INTERNAL = /\/(healthz|readyz|metrics)$/

/** Routes no client may reach through the gateway (CONTRACT §3). */
export function isInternalPath(canonical: string): boolean {
  return canonical === '/auth/introspect' || INTERNAL.test(canonical) || canonical.includes('/../') || canonical.endsWith('/..')
}
