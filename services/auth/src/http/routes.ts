import { Router, type Request, type Response } from 'express'
import { AppError, parseInput, safeEqual } from '@platform/platform'
import { toJwks, TokenError, verifyAccessToken } from '@platform/tokens'
import type { AuthDeps } from '../domain/deps.ts'
import { ipHint } from '../domain/ip-hint.ts'
import { login } from '../domain/login.ts'
import { refreshTokens } from '../domain/refresh.ts'
import { registerUser } from '../domain/register.ts'
import { logout, logoutAll } from '../domain/revoke.ts'
import { findUserById } from '../store/users.ts'
import { bearerFor, claimsOf } from './bearer.ts'
import { clearSessionCookies, CSRF_COOKIE, readCookie, REFRESH_COOKIE, setSessionCookies } from './cookies.ts'
import { introspectBody, loginBody, refreshBody, registerBody } from './schemas.ts'
import type { TokenPair } from '../domain/issue-tokens.ts'

export type HttpSettings = {
  /** Origins allowed to use cookie-mode refresh (CORS_ORIGINS plus PUBLIC_URL's origin). */
  allowedOrigins: ReadonlySet<string>
  /** RFC 7662 clients: id → secret. */
  introspectionClients: ReadonlyMap<string, string>
}

const bodyOf = (tokens: TokenPair) => ({
  access_token: tokens.accessToken,
  token_type: 'Bearer',
  expires_in: tokens.expiresIn,
})

/** The `/auth` routes of CONTRACT §4 (core): handlers parse, call the domain, map to the wire. */
export function authRoutes(deps: AuthDeps, settings: HttpSettings): Router {
  const router = Router()
  const bearer = bearerFor(deps)

  router.post('/register', async (req, res) => {
    const input = parseInput(registerBody, req.body)
    const user = await registerUser(deps, input)
    res.status(201).json({ id: user.id, email: user.email, email_verified: user.emailVerified })
  })

  router.post('/login', async (req, res) => {
    const input = parseInput(loginBody, req.body ?? {})
    const { tokens } = await login(deps, { ...input, userAgent: userAgentOf(req), ipHint: ipHint(req.ip) })
    if (input.token_delivery === 'cookie') {
      const csrf = setSessionCookies(res, tokens.refreshToken, deps.tokens.refreshTokenTtlSeconds)
      res.json({ ...bodyOf(tokens), csrf_token: csrf })
      return
    }
    res.json({ ...bodyOf(tokens), refresh_token: tokens.refreshToken })
  })

  router.post('/refresh', async (req, res) => {
    const input = parseInput(refreshBody, req.body ?? {})
    if (input.refresh_token) {
      const tokens = await refreshTokens(deps, input.refresh_token)
      res.json({ ...bodyOf(tokens), refresh_token: tokens.refreshToken })
      return
    }
    const cookie = readCookie(req, REFRESH_COOKIE)
    if (!cookie) throw new AppError('invalid_token', 'No refresh token presented')
    checkCsrf(req, settings)
    const tokens = await refreshTokens(deps, cookie)
    const csrf = setSessionCookies(res, tokens.refreshToken, deps.tokens.refreshTokenTtlSeconds)
    res.json({ ...bodyOf(tokens), csrf_token: csrf })
  })

  router.post('/logout', bearer, async (_req, res) => {
    await logout(deps, claimsOf(res))
    clearSessionCookies(res)
    res.status(204).end()
  })

  router.post('/logout-all', bearer, async (_req, res) => {
    await logoutAll(deps, claimsOf(res).sub)
    clearSessionCookies(res)
    res.status(204).end()
  })

  router.get('/me', bearer, async (_req, res) => {
    const user = await findUserById(deps.db, claimsOf(res).sub)
    if (!user) throw new AppError('invalid_token', 'The account no longer exists')
    res.json({ id: user.id, email: user.email, email_verified: user.emailVerified, roles: user.roles, created_at: user.createdAt.toISOString() })
  })

  router.post('/introspect', async (req, res) => {
    authenticateClient(req, settings)
    const { token } = parseInput(introspectBody, req.body ?? {})
    res.json(await introspect(deps, token))
  })

  return router
}

/** The JWKS route, mounted at `/.well-known/jwks.json`. */
export function jwksHandler(deps: AuthDeps) {
  return (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'public, max-age=60')
    res.json(toJwks(deps.keys.all()))
  }
}

async function introspect(deps: AuthDeps, token: string): Promise<Record<string, unknown>> {
  try {
    const claims = await verifyAccessToken(token, {
      resolveKey: (kid) => deps.keys.find(kid)?.publicKey,
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
  const id = decodeURIComponent(decoded.slice(0, colon))
  const secret = decodeURIComponent(decoded.slice(colon + 1))
  const expected = settings.introspectionClients.get(id)
  // Compare against something even for unknown ids, so timing does not reveal which ids exist.
  const ok = safeEqual(secret, expected ?? '\u0000unknown-client') && colon > 0 && expected !== undefined
  if (!ok) throw new AppError('invalid_client', 'Client authentication failed', { headers: { 'WWW-Authenticate': 'Basic realm="introspection"' } })
}

function checkCsrf(req: Request, settings: HttpSettings): void {
  const header = req.header('x-csrf-token') ?? ''
  const cookie = readCookie(req, CSRF_COOKIE) ?? ''
  const origin = req.header('origin') ?? ''
  if (!cookie || !safeEqual(header, cookie) || !settings.allowedOrigins.has(origin)) {
    throw new AppError('csrf_failed', 'Cookie refresh needs X-CSRF-Token equal to the CSRF cookie and an allowed Origin')
  }
}

function userAgentOf(req: Request): string | null {
  return req.header('user-agent')?.slice(0, 256) ?? null
}
