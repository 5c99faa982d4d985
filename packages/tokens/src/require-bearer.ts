import type { NextFunction, Request, Response } from 'express'
import { AppError } from '@platform/platform'
import type { AccessTokenClaims } from './access-token.ts'
import { bearerTokenOf, verifyBearerToken, type BearerVerifier } from './bearer.ts'

const INVALID_TOKEN = { 'WWW-Authenticate': 'Bearer error="invalid_token"' }

/**
 * Express middleware for a service route that needs a caller: verifies the bearer token itself
 * (a service never trusts identity only because the gateway forwarded the request) and leaves
 * the claims for `claimsOf(res)`. 401 for a missing or bad token, 503 when revocation cannot be
 * checked.
 */
export function requireBearer(verifier: BearerVerifier) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const token = bearerTokenOf(req.header('authorization'))
    if (token === undefined) throw new AppError('unauthorized', 'A bearer token is required', { headers: { 'WWW-Authenticate': 'Bearer' } })
    const outcome = token === null ? ({ kind: 'invalid', code: 'invalid_token' } as const) : await verifyBearerToken(token, verifier)
    if (outcome.kind === 'unavailable') throw new AppError('dependency_unavailable', 'Token revocation cannot be checked right now')
    if (outcome.kind === 'invalid') throw new AppError(outcome.code, undefined, { headers: INVALID_TOKEN })
    res.locals.claims = outcome.claims
    next()
  }
}

/** The verified claims `requireBearer` left on the response. */
export function claimsOf(res: Response): AccessTokenClaims {
  return res.locals.claims as AccessTokenClaims
}
