import express, { type Express, type NextFunction, type Request, type Response } from 'express'
import helmet from 'helmet'
import { problemFor, type ErrorCode } from '@platform/contracts'
import { AppError, ValidationError } from './app-error.ts'
import { acceptableRequestId, currentRequestId, runWithContext } from './context.ts'
import { uuidv7 } from './ids.ts'
import type { Logger } from './logger.ts'
import type { Metrics } from './metrics.ts'
import { isDependencyOutage } from './outage.ts'

/** A named dependency check for `/readyz`; it rejects when the dependency is down. */
export type ReadinessChecks = Record<string, () => Promise<unknown>>

export type HttpAppOptions = {
  log: Logger
  metrics: Metrics
  readiness: ReadinessChecks
  /** Paths whose POST bodies may also be `application/x-www-form-urlencoded` (RFC 7662 introspection). */
  formPaths?: readonly string[]
  /** Largest accepted body; CONTRACT §2 says 1 MiB. */
  bodyLimit?: string
  /** Serve `/healthz`, `/readyz`, `/metrics` on this app (default true; the gateway keeps them off its public port). */
  probes?: boolean
  /** Parse request bodies (default true; the gateway streams them to the services untouched). */
  parseBodies?: boolean
  /**
   * Paths whose POST bodies are kept as raw bytes (`req.body` is a Buffer, whatever the content
   * type): signed webhooks are verified over the exact bytes the sender signed (PITFALLS: Stripe).
   */
  rawBodyPaths?: readonly string[]
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const READINESS_TIMEOUT_MS = 1500
/** What a 503 for a store outage asks the client to wait: a restart of PostgreSQL takes a few seconds. */
const OUTAGE_RETRY_AFTER_S = 2

/** Sends a problem+json answer for `code`. */
export function sendProblem(
  res: Response,
  code: ErrorCode,
  detail?: string,
  extra?: { errors?: { path: string; message: string }[]; headers?: Record<string, string>; status?: number },
): void {
  const requestId = currentRequestId() ?? String(res.getHeader('x-request-id') ?? uuidv7())
  const problem = problemFor(code, requestId, detail, extra?.errors)
  const body = extra?.status === undefined ? problem : { ...problem, status: extra.status }
  for (const [name, value] of Object.entries(extra?.headers ?? {})) res.setHeader(name, value)
  res.status(body.status).type('application/problem+json').send(JSON.stringify(body))
}

/**
 * The express app every service starts from: helmet, request id and context, JSON body parsing
 * with the 1 MiB cap and content-type rule, RED metrics, `/healthz`, `/readyz`, `/metrics`.
 * Mount routes on it, then call `finishHttpApp` to add the 404 and error handlers.
 *
 * @example
 * const app = createHttpApp({ log, metrics, readiness: { database: () => db.ping() } })
 * app.use('/auth', authRoutes)
 * finishHttpApp(app, { log })
 */
export function createHttpApp(opts: HttpAppOptions): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  app.use(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  )

  app.use((req, res, next) => {
    const incoming = req.header('x-request-id')
    const requestId = acceptableRequestId(incoming) ? incoming : uuidv7()
    res.setHeader('X-Request-Id', requestId)
    const started = process.hrtime.bigint()
    res.on('finish', () => {
      // A proxy has no express route: it names its own (`res.locals.route`), e.g. the upstream prefix.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : ((res.locals.route as string | undefined) ?? 'unmatched')
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      opts.metrics.httpDuration.observe({ method: req.method, route, status: res.statusCode }, seconds)
      opts.log.debug({ request_id: requestId, method: req.method, route, status: res.statusCode, ms: seconds * 1000 }, 'request')
    })
    runWithContext({ requestId }, next)
  })

  if (opts.probes !== false) mountProbes(app, opts)
  if (opts.parseBodies !== false) mountBodyParsing(app, opts)
  return app
}

function mountProbes(app: Express, opts: HttpAppOptions): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  app.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(opts.readiness).map(async ([name, check]) => [name, await probe(check)] as const),
    )
    const down = results.filter(([, up]) => !up).map(([name]) => name)
    res.status(down.length ? 503 : 200).json({
      status: down.length ? 'unavailable' : 'ok',
      checks: Object.fromEntries(results.map(([name, up]) => [name, up ? 'up' : 'down'])),
      ...(down.length ? { down } : {}),
    })
  })
  app.get('/metrics', async (_req, res) => {
    res.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics())
  })
}

function mountBodyParsing(app: Express, opts: HttpAppOptions): void {
  const limit = opts.bodyLimit ?? '1mb'
  const formPaths = new Set(opts.formPaths ?? [])
  const rawPaths = new Set(opts.rawBodyPaths ?? [])
  const parseRaw = express.raw({ limit, type: () => true })
  const parseJson = express.json({ limit, strict: false })
  const parseForm = express.urlencoded({ limit, extended: false })
  app.use((req, res, next) => {
    if (!BODY_METHODS.has(req.method) || !hasBody(req)) return next()
    if (rawPaths.has(req.path)) return parseRaw(req, res, next)
    if (req.is('application/json')) return parseJson(req, res, next)
    if (formPaths.has(req.path) && req.is('application/x-www-form-urlencoded')) return parseForm(req, res, next)
    sendProblem(res, 'unsupported_media_type', 'Send the body as application/json')
  })
}

/**
 * Adds the 404 handler and the error middleware; call after every route is mounted. An error that
 * says a store is unreachable or restarting (`isDependencyOutage`) answers 503 with `Retry-After`.
 */
export function finishHttpApp(app: Express, opts: { log: Logger }): void {
  app.use((_req, res) => sendProblem(res, 'not_found'))
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error)
    if (error instanceof ValidationError) return sendProblem(res, 'validation_failed', error.detail, { errors: error.errors })
    if (error instanceof AppError) return sendProblem(res, error.code, error.detail, { headers: error.headers, ...(error.statusOverride === undefined ? {} : { status: error.statusOverride }) })
    const parserError = bodyParserCode(error)
    if (parserError) return sendProblem(res, parserError)
    if (isDependencyOutage(error)) {
      opts.log.warn({ err: error }, 'dependency unavailable')
      return sendProblem(res, 'dependency_unavailable', 'A store this request needs is unreachable; try again shortly', { headers: { 'Retry-After': String(OUTAGE_RETRY_AFTER_S) } })
    }
    opts.log.error({ err: error }, 'unhandled error')
    sendProblem(res, 'internal_error')
  })
}

function hasBody(req: Request): boolean {
  const length = req.header('content-length')
  return req.header('transfer-encoding') !== undefined || (length !== undefined && length !== '0')
}

function bodyParserCode(error: unknown): ErrorCode | undefined {
  const type = (error as { type?: unknown } | null)?.type
  if (type === 'entity.too.large') return 'payload_too_large'
  if (type === 'entity.parse.failed') return 'malformed_json'
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return 'unsupported_media_type'
  return undefined
}

async function probe(check: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('readiness check timed out')), READINESS_TIMEOUT_MS)
  })
  try {
    await Promise.race([check(), timeout])
    return true
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}
