import { pbkdf2, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import argon2 from 'argon2'
import bcrypt from 'bcryptjs'

const pbkdf2Async = promisify(pbkdf2)

/** OWASP's argon2id baseline (m = 19 MiB, t = 2, p = 1). */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 256

/** Hashes a password with argon2id at the platform's parameters. */
export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS)
}

export type PasswordCheck = { ok: boolean; needsRehash: boolean }

/**
 * Checks a password against a stored hash of any scheme the platform accepts: argon2id (ours),
 * bcrypt, and Werkzeug's `pbkdf2:sha256:<iterations>$<salt>$<hex>`, so users migrated from other
 * systems can log in; `needsRehash` says the caller should store a fresh argon2id hash.
 */
export async function checkPassword(stored: string, password: string): Promise<PasswordCheck> {
  if (stored.startsWith('$argon2')) {
    const ok = await argon2.verify(stored, password).catch(() => false)
    return { ok, needsRehash: ok && argon2.needsRehash(stored, ARGON2_OPTIONS) }
  }
  if (/^\$2[aby]\$\d\d\$/.test(stored)) {
    const ok = await bcrypt.compare(password, stored)
    return { ok, needsRehash: ok }
  }
  const werkzeug = /^pbkdf2:sha256(?::(\d+))?\$([^$]+)\$([0-9a-f]{64})$/.exec(stored)
  if (werkzeug) {
    const iterations = Number(werkzeug[1] ?? 260_000)
    const expected = Buffer.from(werkzeug[3]!, 'hex')
    const actual = await pbkdf2Async(password, werkzeug[2]!, iterations, 32, 'sha256')
    const ok = timingSafeEqual(actual, expected)
    return { ok, needsRehash: ok }
  }
  return { ok: false, needsRehash: false }
}

let dummyHash: Promise<string> | undefined

/**
 * Spends the same argon2id work as a real check, for logins to unknown e-mails, so the answer
 * time does not reveal whether an account exists.
 */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('dummy password for unknown accounts')
  await argon2.verify(await dummyHash, password).catch(() => false)
}
