import express, { type Express, type NextFunction, type Request, type Response } from 'express'
import { AppError, createHttpApp, currentRequestId, finishHttpApp, sendProblem, type Logger } from '@platform/platform'
import type { Kv } from '@platform/kv'
import { bearerTokenOf, verifyBearerToken, type JwksClient } from '@platform/tokens'
import { stripIdentityHeaders } from './identity/strip-identity.ts'
import type { GatewayMetrics } from './metrics.ts'
import { canonicalPath, isInternalPath } from './path.ts'
import { createUpstreamProxies, upstreamFor, type GatewayLocals, type Upstreams } from './proxy/upstreams.ts'
import { consume, rateLimitHeaders, type RateDecision } from './rate-limit/limiter.ts'
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
  const verifier = { resolveKey: (kid: string) => deps.jwks.resolveKey(kid), revocations: deps.kv, issuer: deps.issuer, audience: deps.audience }

  app.use((req, res, next) => {
    const path = canonicalPath(req.path)
    if (!path.startsWith('/.well-known')) res.setHeader('Cache-Control', 'no-store')
    applyCors(req, res, corsOrigins)
    if (req.method === 'OPTIONS' && req.header('access-control-request-method')) {
      res.status(204).end()
      return
    }
    if (isInternalPath(path) || !upstreamFor(path)) return sendProblem(res, 'not_found')
    stripIdentityHeaders(req.headers)
    res.locals.clientIp = req.ip ?? req.socket.remoteAddress ?? 'unknown'
    res.locals.requestId = currentRequestId() ?? String(res.getHeader('x-request-id'))
    next()
  })

  app.use(async (req, res, next) => {
    const token = bearerTokenOf(req.header('authorization'))
    if (token === undefined) return next()
    const outcome = token === null ? ({ kind: 'invalid', code: 'invalid_token' } as const) : await verifyBearerToken(token, verifier)
    deps.metrics.tokenChecks.inc({ outcome: outcome.kind })
    if (outcome.kind === 'unavailable') throw new AppError('dependency_unavailable', 'Token revocation cannot be checked right now')
    if (outcome.kind === 'invalid') {
      // A bad token is an anonymous request: it spends the IP's budget, so forged tokens cannot
      // buy unlimited signature checks.
      const decision = await consume(deps.kv, deps.policies.anonymous, `ip:${(res.locals as GatewayLocals).clientIp}`).catch(() => undefined)
      if (decision) enforce(res, deps, decision)
      throw new AppError(outcome.code, undefined, { headers: { 'WWW-Authenticate': `Bearer error="invalid_token"` } })
    }
    ;(res.locals as GatewayLocals).claims = outcome.claims
    next()
  })

  app.use(async (req, res, next) => {
    const locals = res.locals as GatewayLocals
    const general = locals.claims
      ? { policy: deps.policies.authenticated, key: `user:${locals.claims.sub}` }
      : { policy: deps.policies.anonymous, key: `ip:${locals.clientIp}` }
    try {
      enforce(res, deps, await consume(deps.kv, general.policy, general.key))
    } catch (error) {
      if (error instanceof AppError || locals.claims) throw error
      // CONTRACT §3: without the store, anonymous traffic is served without the general limit.
      deps.metrics.rateLimitFailOpen.inc()
    }
    next()
  })

  app.use(async (req, res, next) => {
    const path = canonicalPath(req.path)
    const route = ROUTE_POLICIES.find((r) => r.method === req.method && r.path === path)
    if (!route) return next()
    await new Promise<void>((resolve, reject) => readRawBody(req, res, (error?: unknown) => (error ? reject(error) : resolve())))
    const locals = res.locals as GatewayLocals
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
    const service = upstreamFor(canonicalPath(req.path))!
    return proxies[service](req, res, next)
  })

  finishHttpApp(app, { log: deps.log })
  return app
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
