import { createHmac, randomBytes } from 'node:crypto'
import { sha256Base64url } from '@platform/platform'

/** A new opaque refresh token: 256 random bits (CONTRACT §4). */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url')
}

/** Refresh tokens are stored only as this hash. */
export function hashRefreshToken(token: string): string {
  return sha256Base64url(token)
}

/**
 * The successor of a refresh token, derived with a server secret instead of stored: a parent
 * presented again within the leeway gets the very same successor (two tabs, a retried request)
 * without the raw successor ever being kept in the database.
 */
export function successorOf(token: string, secret: string): string {
  return createHmac('sha256', secret).update(`refresh-successor:${token}`).digest('base64url')
}
