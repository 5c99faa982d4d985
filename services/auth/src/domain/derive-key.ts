import { hkdfSync } from 'node:crypto'

/**
 * A 32-byte key for one purpose, derived from the service secret (`AUTH_TOKEN_SECRET`) with
 * HKDF-SHA256, so one configured secret yields independent keys: a key leaked from one use (say
 * the lockout hashes) says nothing about another (the signing-key encryption).
 */
export function deriveKey(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'security-platform/auth', purpose, 32))
}
