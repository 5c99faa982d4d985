import { randomBytes } from 'node:crypto'
import type { Request, Response } from 'express'

export const REFRESH_COOKIE = '__Secure-refresh_token'
export const CSRF_COOKIE = '__Host-csrf'

/** Reads one cookie from the request (no cookie-parser for two names). */
export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.header('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeCookieValue(part.slice(eq + 1).trim())
  }
  return undefined
}

/** A malformed escape is a value no one was handed (an unknown token), not a server error. */
function decodeCookieValue(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

/** Sets the browser-mode cookies of CONTRACT §4 and returns the CSRF token for the body. */
export function setSessionCookies(res: Response, refreshToken: string, maxAgeSeconds: number): string {
  const csrf = randomBytes(32).toString('base64url')
  res.cookie(REFRESH_COOKIE, refreshToken, { httpOnly: true, secure: true, sameSite: 'strict', path: '/auth', maxAge: maxAgeSeconds * 1000 })
  res.cookie(CSRF_COOKIE, csrf, { httpOnly: false, secure: true, sameSite: 'strict', path: '/', maxAge: maxAgeSeconds * 1000 })
  return csrf
}

export function clearSessionCookies(res: Response): void {
  res.cookie(REFRESH_COOKIE, '', { httpOnly: true, secure: true, sameSite: 'strict', path: '/auth', maxAge: 0 })
  res.cookie(CSRF_COOKIE, '', { httpOnly: false, secure: true, sameSite: 'strict', path: '/', maxAge: 0 })
}
