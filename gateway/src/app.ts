import express, { type Express, type NextFunction, type Request, type Response } from 'express'
import { AppError, createHttpApp, currentRequestId, finishHttpApp, sendProblem, type Logger } from '@platform/platform'
import type { Kv } from '@platform/kv'
import {
  bearerTokenOf,
  cachedVerifier,
  revocationKeysFor,
  revocationVerdict,
  TokenError,
  verifyAccessToken,
  type JwksClient,
} from '@platform/tokens'
import { stripIdentityHeaders } from './identity/strip-identity.ts'
import type { GatewayMetrics } from './metrics.ts'
import { canonicalPath, isInternalPath } from './path.ts'
import { createUpstreamProxies, upstreamFor, type GatewayLocals, type Upstreams } from './proxy/upstreams.ts'
import { consume, counterKey, decide, rateLimitHeaders, type RateDecision } from './rate-limit/limiter.ts'
import { ROUTE_POLICIES, type KeySource, type Policy, type PolicyName } from './rate-limit/policies.ts'

export type GatewayDeps = {
  kv: Kv
  jwks: JwksClient
  log: Logger
  metrics: GatewayMetrics
  policies: Record<PolicyName, Policy>
  issuer: string
  audience: string
  corsOrigins: readonly string[]
  trustProxy: number
  upstreams: Upstreams
  upstreamTimeoutMs: number
}

const BODY_LIMIT = '1mb'
const readRawBody = express.raw({ type: () => true, limit: BODY_LIMIT })

/**
 * The gateway's public app, in the order a request meets it: headers and CORS, internal routes
 * hidden, forged identity stripped, bearer token verified, rate limits counted, then the proxy.
 */
export function createGatewayApp(deps: GatewayDeps): Express {
  const app = createHttpApp({ log: deps.log, metrics: deps.metrics, readiness: {}, probes: false, parseBodies: false })
  app.set('trust proxy', deps.trustProxy)
  const proxies = createUpstreamProxies(deps.upstreams, { timeoutMs: deps.upstreamTimeoutMs })
  const corsOrigins = new Set(deps.corsOrigins)
  const verifySignature = cachedVerifier({
    issuer: deps.issuer,
    audience: deps.audience,
    verify: (token) => verifyAccessToken(token, { resolveKey: (kid) => deps.jwks.resolveKey(kid), issuer: deps.issuer, audience: deps.audience }),
  })

  app.use((req, res, next) => {
    const path = canonicalPath(req.path)
    if (!path.startsWith('/.well-known')) res.setHeader('Cache-Control', 'no-store')
    applyCors(req, res, corsOrigins)
    if (req.method === 'OPTIONS' && req.header('access-control-request-method')) {
      res.status(204).end()
      return
    }
    const service = isInternalPath(path) ? undefined : upstreamFor(path)
    if (!service) return sendProblem(res, 'not_found')
    stripIdentityHeaders(req.headers)
    const locals = res.locals as GatewayLocals
    locals.path = path
    locals.service = service
    locals.clientIp = req.ip ?? req.socket.remoteAddress ?? 'unknown'
    locals.requestId = currentRequestId() ?? String(res.getHeader('x-request-id'))
    next()
  })

  // Identity and the general limit in one step: a bearer request costs one signature check
  // (cached per token) and one store round trip for its rate counter and its revocation keys.
  app.use(async (req, res, next) => {
    const locals = res.locals as GatewayLocals
    const token = bearerTokenOf(req.header('authorization'))
    if (token === undefined) {
      await countAnonymous(res, deps, locals.clientIp, { failOpen: true })
      return next()
    }
    const checked = token === null ? { error: 'invalid_token' as const } : await verifySignature(token).then((claims) => ({ claims }), tokenErrorCode)
    if ('error' in checked) return refuseToken(res, deps, locals.clientIp, checked.error)
    const { claims } = checked
    const policy = deps.policies.authenticated
    let reading
    try {
      reading = await deps.kv.hitAndGet(counterKey(policy, `user:${claims.sub}`), policy.windowS * 1000, revocationKeysFor(claims))
    } catch (error) {
      deps.metrics.tokenChecks.inc({ outcome: 'unavailable' })
      throw new AppError('dependency_unavailable', 'Token revocation cannot be checked right now', { cause: error })
    }
    const verdict = revocationVerdict(claims, reading.values)
    if (verdict === 'unknown') {
      deps.metrics.tokenChecks.inc({ outcome: 'unavailable' })
      throw new AppError('dependency_unavailable', 'Token revocation lists are being restored')
    }
    if (verdict === 'revoked') return refuseToken(res, deps, locals.clientIp, 'invalid_token')
    deps.metrics.tokenChecks.inc({ outcome: 'valid' })
    enforce(res, deps, decide(policy, reading))
    locals.claims = claims
    next()
  })

  app.use(async (req, res, next) => {
    const locals = res.locals as GatewayLocals
    const route = ROUTE_POLICIES.find((r) => r.method === req.method && r.path === locals.path)
    if (!route) return next()
    await new Promise<void>((resolve, reject) => readRawBody(req, res, (error?: unknown) => (error ? reject(error) : resolve())))
    locals.rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
    const body = parseLenient(locals.rawBody)
    for (const { policy, key } of route.policies) {
      const value = keyOf(key, locals, body)
      if (value === undefined) continue
      let decision: RateDecision
      try {
        decision = await consume(deps.kv, deps.policies[policy], value)
      } catch (error) {
        throw new AppError('dependency_unavailable', 'Rate limiting is unavailable; try again shortly', { cause: error })
      }
      enforce(res, deps, decision)
    }
    next()
  })

  app.use((req: Request, res: Response, next: NextFunction) => {
    const { service } = res.locals as GatewayLocals
    res.locals.route = `${service}:*`
    return proxies[service](req, res, next)
  })

  finishHttpApp(app, { log: deps.log })
  return app
}

/** Counts a request without a valid token against the client IP's `anonymous` budget. */
async function countAnonymous(res: Response, deps: GatewayDeps, clientIp: string, opts: { failOpen: boolean }): Promise<void> {
  let decision: RateDecision
  try {
    decision = await consume(deps.kv, deps.policies.anonymous, `ip:${clientIp}`)
  } catch {
    // CONTRACT §3: without the store, anonymous traffic is served without the general limit.
    if (opts.failOpen) deps.metrics.rateLimitFailOpen.inc()
    return
  }
  enforce(res, deps, decision)
}

/**
 * Answers 401 for a bad or revoked token. The request still spends the IP's anonymous budget
 * first, so forged tokens cannot buy unlimited signature checks.
 */
async function refuseToken(res: Response, deps: GatewayDeps, clientIp: string, code: TokenError['code']): Promise<never> {
  deps.metrics.tokenChecks.inc({ outcome: 'invalid' })
  await countAnonymous(res, deps, clientIp, { failOpen: false })
  throw new AppError(code, undefined, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } })
}

function tokenErrorCode(error: unknown): { error: TokenError['code'] } {
  if (error instanceof TokenError) return { error: error.code }
  throw error
}

function enforce(res: Response, deps: GatewayDeps, decision: RateDecision): void {
  const headers = rateLimitHeaders(decision)
  if (decision.allowed) {
    // Appended, not set: every policy the request was counted against is listed (structured-field
    // lists), or an answer would show only the last one, e.g. 4 left for login_email, 0 for login_ip.
    for (const [name, value] of Object.entries(headers)) res.append(name, value)
    return
  }
  deps.metrics.rateLimited.inc({ policy: decision.policy.name })
  throw new AppError('rate_limited', `Too many requests (${decision.policy.name}); retry after ${decision.resetS} s`, { headers })
}

function keyOf(source: KeySource, locals: GatewayLocals, body: Record<string, unknown> | undefined): string | undefined {
  if (source === 'ip') return `ip:${locals.clientIp}`
  if (source === 'user') return locals.claims ? `user:${locals.claims.sub}` : undefined
  const value = body?.[source.bodyField]
  // E-mails are compared trimmed and case-insensitively everywhere (CONTRACT §2), so here too.
  return typeof value === 'string' ? `${source.bodyField}:${value.trim().toLowerCase()}` : undefined
}

function parseLenient(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw.toString('utf8'))
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

function applyCors(req: Request, res: Response, allowed: ReadonlySet<string>): void {
  const origin = req.header('origin')
  res.vary('Origin')
  if (!origin || !allowed.has(origin)) return
  res.setHeader('Access-Control-Allow-Origin', origin)
  res.setHeader('Access-Control-Allow-Credentials', 'true')
  res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id, RateLimit, RateLimit-Policy, Retry-After, WWW-Authenticate')
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE')
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-CSRF-Token, X-Request-Id')
    res.setHeader('Access-Control-Max-Age', '600')
  }
}
