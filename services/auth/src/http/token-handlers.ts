import type { Request, RequestHandler } from 'express'
import { AppError, parseInput, safeEqual } from '@platform/platform'
import { TokenError, verifyAccessToken } from '@platform/tokens'
import type { z } from 'zod'
import type { AuthDeps } from '../domain/deps.ts'
import type { TokenPair } from '../domain/issue-tokens.ts'
import { ipHint } from '../domain/ip-hint.ts'
import { login } from '../domain/login.ts'
import { refreshTokens } from '../domain/refresh.ts'
import { registerUser } from '../domain/register.ts'
import { verifyEmail } from '../domain/verify-email.ts'
import { logout, logoutAll } from '../domain/revoke.ts'
import { findUserById } from '../store/users.ts'
import { api, type OperationId } from './api.ts'
import { claimsOf } from './bearer.ts'
import { clearSessionCookies, CSRF_COOKIE, readCookie, REFRESH_COOKIE, setSessionCookies } from './cookies.ts'
import { buildOpenApi } from './openapi.ts'
import type { meAnswer, registeredAnswer, tokenAnswer } from './schemas.ts'
import { clientIpOf, userAgentOf } from './wire.ts'

export type HttpSettings = {
  /** Origins allowed to use cookie-mode refresh (CORS_ORIGINS plus PUBLIC_URL's origin). */
  allowedOrigins: ReadonlySet<string>
  /** RFC 7662 clients: id → secret. */
  introspectionClients: ReadonlyMap<string, string>
  /** The gateway's public origin, for the OpenAPI `servers`. */
  publicUrl: string
}

const bodyOf = (tokens: TokenPair) => ({ access_token: tokens.accessToken, token_type: 'Bearer' as const, expires_in: tokens.expiresIn })

/** Accounts and tokens: register, login, refresh, logout, me, introspection, JWKS, the API document. */
export function tokenHandlers(deps: AuthDeps, settings: HttpSettings) {
  let document: object | undefined
  return {
    register: async (req, res) => {
      const input = parseInput(api.register.body, req.body ?? {})
      const user = await registerUser(deps, input)
      res.status(201).json({ id: user.id, email: user.email, email_verified: user.emailVerified } satisfies z.input<typeof registeredAnswer>)
    },

    verifyEmail: async (req, res) => {
      const { token } = parseInput(api.verifyEmail.body, req.body ?? {})
      await verifyEmail(deps, token)
      res.status(204).end()
    },

    login: async (req, res) => {
      const input = parseInput(api.login.body, req.body ?? {})
      const { tokens } = await login(deps, { ...input, ip: clientIpOf(req), userAgent: userAgentOf(req), ipHint: ipHint(req.ip) })
      if (input.token_delivery === 'cookie') {
        const csrf = setSessionCookies(res, tokens.refreshToken, deps.tokens.refreshTokenTtlSeconds)
        res.json({ ...bodyOf(tokens), csrf_token: csrf } satisfies z.input<typeof tokenAnswer>)
        return
      }
      res.json({ ...bodyOf(tokens), refresh_token: tokens.refreshToken } satisfies z.input<typeof tokenAnswer>)
    },

    refresh: async (req, res) => {
      const input = parseInput(api.refresh.body, req.body ?? {})
      if (input.refresh_token) {
        const tokens = await refreshTokens(deps, input.refresh_token)
        res.json({ ...bodyOf(tokens), refresh_token: tokens.refreshToken } satisfies z.input<typeof tokenAnswer>)
        return
      }
      const cookie = readCookie(req, REFRESH_COOKIE)
      if (!cookie) throw new AppError('invalid_token', 'No refresh token presented')
      checkCsrf(req, settings)
      const tokens = await refreshTokens(deps, cookie)
      const csrf = setSessionCookies(res, tokens.refreshToken, deps.tokens.refreshTokenTtlSeconds)
      res.json({ ...bodyOf(tokens), csrf_token: csrf } satisfies z.input<typeof tokenAnswer>)
    },

    logout: async (req, res) => {
      parseInput(api.logout.body, req.body ?? {})
      await logout(deps, claimsOf(res))
      clearSessionCookies(res)
      res.status(204).end()
    },

    logoutAll: async (req, res) => {
      parseInput(api.logoutAll.body, req.body ?? {})
      await logoutAll(deps, claimsOf(res).sub)
      clearSessionCookies(res)
      res.status(204).end()
    },

    me: async (_req, res) => {
      const user = await findUserById(deps.db, claimsOf(res).sub)
      if (!user) throw new AppError('invalid_token', 'The account no longer exists')
      res.json({
        id: user.id,
        email: user.email,
        email_verified: user.emailVerified,
        roles: user.roles as z.input<typeof meAnswer>['roles'],
        created_at: user.createdAt.toISOString(),
      } satisfies z.input<typeof meAnswer>)
    },

    introspect: async (req, res) => {
      authenticateClient(req, settings)
      const { token } = parseInput(api.introspect.body, req.body ?? {})
      res.json(await introspect(deps, token))
    },

    jwks: (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=60')
      res.json(deps.keys.jwks())
    },

    openApi: (_req, res) => {
      document ??= buildOpenApi({ serverUrl: settings.publicUrl })
      res.json(document)
    },
  } satisfies Partial<Record<OperationId, RequestHandler>>
}

async function introspect(deps: AuthDeps, token: string): Promise<Record<string, unknown>> {
  try {
    const claims = await verifyAccessToken(token, {
      resolveKey: (kid) => deps.keys.publicKey(kid),
      issuer: deps.tokens.issuer,
      audience: deps.tokens.audience,
      clockToleranceSeconds: 0,
    })
    if ((await deps.revocations.check(claims)) !== 'active') return { active: false }
    return { active: true, sub: claims.sub, exp: claims.exp, iat: claims.iat, jti: claims.jti, sid: claims.sid, roles: claims.roles, token_type: 'Bearer' }
  } catch (error) {
    if (error instanceof TokenError) return { active: false }
    throw new AppError('dependency_unavailable', 'Revocation lists are unreachable', { cause: error })
  }
}

function authenticateClient(req: Request, settings: HttpSettings): void {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.header('authorization') ?? '')
  const decoded = match ? Buffer.from(match[1]!, 'base64').toString('utf8') : ''
  const colon = decoded.indexOf(':')
  const id = safeDecode(decoded.slice(0, colon))
  const secret = safeDecode(decoded.slice(colon + 1))
  const expected = settings.introspectionClients.get(id)
  // Compare against something even for unknown ids, so timing does not reveal which ids exist.
  const ok = safeEqual(secret, expected ?? '\u0000unknown-client') && colon > 0 && expected !== undefined
  if (!ok) throw new AppError('invalid_client', 'Client authentication failed', { headers: { 'WWW-Authenticate': 'Basic realm="introspection"' } })
}

/** RFC 7617 credentials are form-encoded by some clients; a malformed escape is just a wrong one. */
function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

function checkCsrf(req: Request, settings: HttpSettings): void {
  const header = req.header('x-csrf-token') ?? ''
  const cookie = readCookie(req, CSRF_COOKIE) ?? ''
  const origin = req.header('origin') ?? ''
  if (!cookie || !safeEqual(header, cookie) || !settings.allowedOrigins.has(origin)) {
    throw new AppError('csrf_failed', 'Cookie refresh needs X-CSRF-Token equal to the CSRF cookie and an allowed Origin')
  }
}
