import { randomBytes } from 'node:crypto'
import { hmacHex } from '@platform/platform'

/** Crockford's base32: no I, L, O or U, so a key read aloud or typed from paper survives. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const GROUPS = 6
const GROUP_LENGTH = 5
/** 30 characters × 5 bits = 150 bits of entropy (the contract asks at least 128). */
export const LICENSE_KEY_LENGTH = GROUPS * GROUP_LENGTH
export const LICENSE_KEY_BITS = LICENSE_KEY_LENGTH * 5

/**
 * A new license key: 150 random bits as six groups of five Crockford base32 characters,
 * `7K3QF-2M9XH-...`. Each character takes 5 bits of one random byte, so none is biased.
 */
export function generateLicenseKey(): string {
  const bytes = randomBytes(LICENSE_KEY_LENGTH)
  let chars = ''
  for (const byte of bytes) chars += ALPHABET[byte & 31]
  return formatLicenseKey(chars)
}

function formatLicenseKey(normalized: string): string {
  const groups: string[] = []
  for (let i = 0; i < normalized.length; i += GROUP_LENGTH) groups.push(normalized.slice(i, i + GROUP_LENGTH))
  return groups.join('-')
}

/**
 * The canonical form of a key as typed: upper case, without separators or spaces, with the
 * look-alikes Crockford decodes (O → 0, I and L → 1). Undefined when it cannot be a key.
 */
export function normalizeLicenseKey(input: string): string | undefined {
  const normalized = input
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1')
  if (normalized.length !== LICENSE_KEY_LENGTH) return undefined
  for (const char of normalized) if (!ALPHABET.includes(char)) return undefined
  return normalized
}

/**
 * The stored form of a key: HMAC-SHA256 under the service's key secret. A leaked table hands out
 * no license, and without the secret the hashes cannot even be brute-forced offline.
 */
export function hashLicenseKey(normalized: string, secret: string): string {
  return hmacHex(secret, `license-key:${normalized}`)
}

/** The last four characters of the normalized key, shown to help people tell keys apart. */
export function keyLast4(normalized: string): string {
  return normalized.slice(-4)
}
