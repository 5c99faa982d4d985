import type { NextFunction, Request, Response } from 'express'
import { AppError } from '@platform/platform'
import { TokenError, verifyAccessToken, type AccessTokenClaims } from '@platform/tokens'
import type { AuthDeps } from '../domain/deps.ts'

const INVALID_TOKEN = { 'WWW-Authenticate': 'Bearer error="invalid_token"' }

/** The bearer token of a request, if it carries one. */
export function bearerToken(req: Request): string | undefined {
  const header = req.header('authorization')
  const match = header && /^bearer +([A-Za-z0-9._~+/=-]+)$/i.exec(header)
  return match ? match[1] : undefined
}

/**
 * Verifies the bearer token itself (signature, claims, revocation) — a service never trusts an
 * identity only because the gateway forwarded the request. A store it cannot ask means 503.
 */
export function requireBearer(deps: AuthDeps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const token = bearerToken(req)
    if (!token) throw new AppError('unauthorized', 'A bearer token is required', { headers: { 'WWW-Authenticate': 'Bearer' } })
    res.locals.claims = await verifyBearer(deps, token)
    next()
  }
}

export async function verifyBearer(deps: AuthDeps, token: string): Promise<AccessTokenClaims> {
  let claims: AccessTokenClaims
  try {
    claims = await verifyAccessToken(token, {
      resolveKey: (kid) => deps.keys.find(kid)?.publicKey,
      issuer: deps.tokens.issuer,
      audience: deps.tokens.audience,
    })
  } catch (error) {
    if (error instanceof TokenError) throw new AppError(error.code, undefined, { headers: INVALID_TOKEN })
    throw error
  }
  let verdict
  try {
    verdict = await deps.revocations.check(claims)
  } catch (error) {
    throw new AppError('dependency_unavailable', 'Revocation lists are unreachable', { cause: error })
  }
  if (verdict === 'unknown') throw new AppError('dependency_unavailable', 'Revocation lists are being restored')
  if (verdict === 'revoked') throw new AppError('invalid_token', 'Token has been revoked', { headers: INVALID_TOKEN })
  return claims
}

export function claimsOf(res: Response): AccessTokenClaims {
  return res.locals.claims as AccessTokenClaims
}
