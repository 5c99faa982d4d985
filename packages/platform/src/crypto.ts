import { createCipheriv, createDecipheriv, createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto'

/** Constant-time string equality; different lengths compare unequal without leaking where. */
export function safeEqual(a: string, b: string): boolean {
  const left = hash('sha256', a, 'buffer')
  const right = hash('sha256', b, 'buffer')
  return timingSafeEqual(left, right) && a.length === b.length
}

/** Keyed HMAC-SHA256 in hex: how IPs and e-mails appear in events (`ip_hash`). */
export function hmacHex(key: string | Buffer, value: string): string {
  return createHmac('sha256', key).update(value).digest('hex')
}

/** SHA-256 in base64url: how refresh tokens and other bearer secrets are stored. */
export function sha256Base64url(value: string): string {
  return hash('sha256', value, 'base64url')
}

/** SHA-256 in hex (of the UTF-8 bytes of `value`). */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex')
}

/**
 * Encrypts a short secret (an e-mail link token) with AES-256-GCM under a key derived from
 * `key`, for events that must carry it to exactly one consumer: the broker, the audit log and
 * every other consumer see only ciphertext. Output: base64url(iv ‖ ciphertext ‖ tag).
 */
export function sealSecret(key: string, plaintext: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', deriveSealKey(key), iv)
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')
}

/** Reverses {@link sealSecret}; throws if the value was altered or sealed under another key. */
export function unsealSecret(key: string, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64url')
  if (raw.length < 29) throw new Error('sealed value too short')
  const decipher = createDecipheriv('aes-256-gcm', deriveSealKey(key), raw.subarray(0, 12))
  decipher.setAuthTag(raw.subarray(raw.length - 16))
  return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8')
}

function deriveSealKey(key: string): Buffer {
  return hash('sha256', `platform-seal:${key}`, 'buffer')
}
