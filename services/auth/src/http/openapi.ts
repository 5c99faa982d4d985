import { z } from 'zod'
import { problems, problemType, type ErrorCode } from '@platform/contracts'
import { api, problemsOf, type RouteSpec } from './api.ts'
import { idParam, problemAnswer } from './schemas.ts'

type JsonObject = Record<string, unknown>

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of a request (input) or answer (output) schema. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline' }) as JsonObject
  return rest
}

/**
 * The codes a route can answer with, grouped by status: one response per status whose schema is
 * the problem body with `code` restricted to exactly those codes.
 */
function problemResponses(spec: RouteSpec): Record<string, JsonObject> {
  const byStatus = new Map<number, ErrorCode[]>()
  const add = (status: number, code: ErrorCode) => byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  // A code the route answers with another status keeps its usual one too where every route of its
  // kind can answer it (the gateway's 401 `invalid_token` for a forged bearer, say).
  const shared = new Set(problemsOf({ ...spec, problems: [] }))
  for (const code of problemsOf(spec)) {
    const override = spec.problemStatus?.[code]
    if (override !== undefined) add(override, code)
    if (override === undefined || shared.has(code)) add(problems[code].status, code)
  }
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, codes]) => [
        String(status),
        {
          description: codes.map((code) => `\`${code}\`: ${problems[code].title}`).join('; '),
          content: {
            'application/problem+json': {
              schema: { allOf: [{ $ref: '#/components/schemas/Problem' }, { type: 'object', properties: { code: { enum: codes } } }] },
            },
          },
        },
      ]),
  )
}

function parameters(spec: RouteSpec): JsonObject[] {
  const path = (spec.params ?? []).map((name) => ({ name, in: 'path', required: true, schema: jsonSchema(idParam, 'input') }))
  const query = Object.entries(spec.query?.shape ?? {}).map(([name, field]) => {
    const schema = jsonSchema(field as z.ZodType, 'input')
    return { name, in: 'query', required: !(field as z.ZodType).safeParse(undefined).success, schema }
  })
  return [...path, ...query]
}

function security(spec: RouteSpec): JsonObject[] | undefined {
  if (spec.access.kind === 'public') return spec.path === '/auth/refresh' ? [{}, { refreshCookie: [], csrfHeader: [] }] : []
  if (spec.access.kind === 'client') return [{ introspectionClient: [] }]
  return [{ bearer: [] }]
}

function operation(id: string, spec: RouteSpec): JsonObject {
  const success: JsonObject = { description: spec.success.description }
  if (spec.success.schema) success.content = { 'application/json': { schema: jsonSchema(spec.success.schema, 'output') } }
  if (spec.success.setsCookies) success.headers = { 'Set-Cookie': { description: 'Cookie mode only', schema: { type: 'string' } } }
  const op: JsonObject = {
    operationId: id,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.path.startsWith('/auth/admin') ? 'admin' : 'auth'],
    security: security(spec),
    parameters: parameters(spec),
    responses: { [String(spec.success.status)]: success, ...problemResponses(spec) },
  }
  if (spec.access.kind === 'permission') op['x-permission'] = spec.access.permission
  if (spec.internal) op['x-internal'] = true
  if (spec.body) {
    const schema = jsonSchema(spec.body, 'input')
    op.requestBody = {
      required: spec.bodyRequired ?? false,
      content: {
        'application/json': { schema },
        ...(spec.form ? { 'application/x-www-form-urlencoded': { schema } } : {}),
      },
    }
  }
  return op
}

/**
 * The OpenAPI 3.1 document of the auth API, built from the route table and the very zod schemas
 * requests are validated with (`z.toJSONSchema`). `x-problems` lists every code the service can
 * answer with, with its status, title and `type` URI.
 */
export function buildOpenApi(opts: { serverUrl: string }): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {}
  const codes = new Set<ErrorCode>(['not_found'])
  const otherStatuses = new Map<ErrorCode, Set<number>>()
  for (const [id, spec] of Object.entries(api) as [string, RouteSpec][]) {
    paths[spec.path] = { ...paths[spec.path], [spec.method]: operation(id, spec) }
    for (const code of problemsOf(spec)) codes.add(code)
    for (const [code, status] of Object.entries(spec.problemStatus ?? {}) as [ErrorCode, number][]) {
      otherStatuses.set(code, new Set([...(otherStatuses.get(code) ?? []), status]))
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Security platform: auth',
      version: '1.0.0',
      description:
        'Accounts, sessions and tokens. Errors are `application/problem+json` (RFC 9457) with a stable `code`; unknown JSON fields are rejected; lists answer `{items, next_cursor}`. Any unknown path answers 404 `not_found`.',
    },
    servers: [{ url: opts.serverUrl }],
    tags: [
      { name: 'auth', description: 'Accounts, sessions, tokens' },
      { name: 'admin', description: 'Administration (role `admin`)' },
    ],
    paths,
    components: {
      schemas: { Problem: jsonSchema(problemAnswer, 'output') },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (typ at+jwt, ES256)' },
        introspectionClient: { type: 'http', scheme: 'basic' },
        refreshCookie: { type: 'apiKey', in: 'cookie', name: '__Secure-refresh_token' },
        csrfHeader: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' },
      },
    },
    'x-problems': Object.fromEntries(
      [...codes].sort().map((code) => {
        const other = [...(otherStatuses.get(code) ?? [])].sort()
        // `other_statuses`: routes that answer the code with another status (their own responses say so).
        return [code, { status: problems[code].status, ...(other.length > 0 ? { other_statuses: other } : {}), title: problems[code].title, type: problemType(code) }]
      }),
    ),
  }
}
