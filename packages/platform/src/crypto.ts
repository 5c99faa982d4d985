import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/** Constant-time string equality; different lengths compare unequal without leaking where. */
export function safeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest()
  const right = createHash('sha256').update(b).digest()
  return timingSafeEqual(left, right) && a.length === b.length
}

/** Keyed HMAC-SHA256 in hex: how IPs and e-mails appear in events (`ip_hash`). */
export function hmacHex(key: string | Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('hex')
}

/** SHA-256 in base64url: how refresh tokens and other bearer secrets are stored. */
export function sha256Base64url(value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}
