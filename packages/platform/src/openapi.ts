import { z } from 'zod'
import { problems, problemType, type ErrorCode } from '@platform/contracts'

type JsonObject = Record<string, unknown>

/** The RFC 9457 body of every error answer (CONTRACT §2), as documented in every service's API. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  code: z.string(),
  request_id: z.string(),
  errors: z
    .array(z.object({ path: z.string().meta({ description: 'JSON Pointer into the body' }), message: z.string() }))
    .optional()
    .meta({ description: 'Only with `validation_failed`' }),
})

/**
 * The codes a route answers with because of its kind, whatever it does itself: a validated
 * input can fail validation; any write's body can be too large and, unless it is read as raw
 * bytes (a signed webhook), malformed or of the wrong type; a bearer route refuses missing,
 * bad and expired tokens. Through the gateway (every route but an `internal` one) any request
 * may be rate-limited, refused for a bad token (401) whatever the route, or answered 503 when
 * revocation or a sensitive rate limit cannot be checked (CONTRACT §3); any route answers 503
 * while a store it needs is unreachable.
 */
export function kitProblems(route: { method: string; validated: boolean; rawBody?: boolean; bearer: boolean; internal?: boolean }): ErrorCode[] {
  const codes: ErrorCode[] = []
  if (route.validated) codes.push('validation_failed')
  if (route.method !== 'get') codes.push(...(route.rawBody ? [] : (['malformed_json', 'unsupported_media_type'] as const)), 'payload_too_large')
  if (route.bearer) codes.push('unauthorized')
  if (!route.internal || route.bearer) codes.push('invalid_token', 'token_expired')
  if (!route.internal) codes.push('rate_limited')
  // Any handler may find a store unreachable or restarting (the kit answers 503, not 500).
  codes.push('dependency_unavailable', 'internal_error')
  return codes
}

/**
 * One operation of a service's API, described with the very zod schemas its handler validates
 * with. The service decides who may call it (`security`, `extensions`) and which error codes it
 * answers with: `problems` is the complete list, `sharedProblems` those every operation of its
 * kind answers with (they keep their usual status even where `problemStatus` moves the code).
 */
export type OpenApiOperation = {
  method: 'get' | 'post' | 'put' | 'delete'
  /** The public path, OpenAPI style: `/licenses/{id}`. */
  path: string
  summary: string
  description?: string
  tags: readonly string[]
  /** OpenAPI security requirements; `[]` for anyone. */
  security: readonly JsonObject[]
  /** Path parameters by name, in path order. */
  pathParams?: Readonly<Record<string, z.ZodType>>
  query?: z.ZodObject
  body?: z.ZodType
  bodyRequired?: boolean
  /** The body is also accepted as `application/x-www-form-urlencoded`. */
  form?: boolean
  success: { status: number; description: string; schema?: z.ZodType; headers?: JsonObject }
  /** Further success statuses with the same answer schema (201 created, 200 already there). */
  otherSuccesses?: readonly { status: number; description: string }[]
  problems: readonly ErrorCode[]
  sharedProblems?: ReadonlySet<ErrorCode>
  /** Where this operation answers a code with another status than the catalogue's. */
  problemStatus?: Partial<Record<ErrorCode, number>>
  /** `x-…` members, in this order, after the responses. */
  extensions?: JsonObject
}

/**
 * One route of a service's API table (its `http/api.ts`): what its router mounts and what its
 * OpenAPI document shows. Request schemas are the ones the handler validates with; `access` is
 * the service's own notion of who may call; `problems` lists the codes the route itself answers
 * with (those every route of its kind shares come from {@link kitProblems}).
 */
export type RouteSpec<Access extends { kind: string } = { kind: 'public' } | { kind: 'bearer' }> = {
  method: OpenApiOperation['method']
  /** The public path (through the gateway), OpenAPI style: `/licenses/{id}`. */
  path: string
  summary: string
  description?: string
  access: Access
  body?: z.ZodType
  bodyRequired?: boolean
  /**
   * The body is read as raw bytes (a webhook's signature is over them) and parsed by the handler
   * after the check: no JSON or media-type errors, any failure is the route's own code.
   */
  rawBody?: boolean
  query?: z.ZodObject
  /** Path parameters, in path order; each answers the route's 404 when it is not well-formed. */
  params?: readonly string[]
  success: { status: number; description: string; schema?: z.ZodType }
  /** Further success statuses with the same answer. */
  otherSuccesses?: readonly { status: number; description: string }[]
  problems: readonly ErrorCode[]
}

/** A route's own codes, then those of its kind; `bearer`: the route takes a bearer token. */
export function routeProblems(spec: RouteSpec<{ kind: string }>, opts: { bearer: boolean; internal?: boolean; extra?: readonly ErrorCode[] }): ErrorCode[] {
  const kind = kitProblems({ method: spec.method, validated: Boolean((spec.body && !spec.rawBody) || spec.query), rawBody: spec.rawBody, bearer: opts.bearer, internal: opts.internal })
  return [...new Set<ErrorCode>([...spec.problems, ...(opts.extra ?? []), ...kind])]
}

/** The operation a route documents: its table entry, with what the service decides itself. */
export function routeOperation(
  spec: RouteSpec<{ kind: string }>,
  opts: { tags: readonly string[]; security: readonly JsonObject[]; pathParam: z.ZodType; problems: readonly ErrorCode[] },
): OpenApiOperation {
  return {
    method: spec.method,
    path: spec.path,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: opts.tags,
    security: opts.security,
    pathParams: Object.fromEntries((spec.params ?? []).map((name) => [name, opts.pathParam])),
    ...(spec.query ? { query: spec.query } : {}),
    ...(spec.body ? { body: spec.body, bodyRequired: spec.bodyRequired ?? false } : {}),
    success: spec.success,
    ...(spec.otherSuccesses ? { otherSuccesses: spec.otherSuccesses } : {}),
    problems: opts.problems,
  }
}

/**
 * JSON Schema 2020-12 (OpenAPI 3.1's dialect) of a request (`input`) or answer (`output`) schema;
 * a transform documents what it accepts or what it produces accordingly.
 */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline' }) as JsonObject
  return rest
}

/**
 * The codes an operation can answer with, grouped by status: one response per status whose
 * schema is the problem body with `code` restricted to exactly those codes.
 */
function problemResponses(op: OpenApiOperation): Record<string, JsonObject> {
  const byStatus = new Map<number, ErrorCode[]>()
  const add = (status: number, code: ErrorCode) => byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  for (const code of op.problems) {
    const override = op.problemStatus?.[code]
    if (override !== undefined) add(override, code)
    // A code the operation answers with another status keeps its usual one too where every
    // operation of its kind can answer it (the gateway's 401 `invalid_token` for a forged bearer).
    if (override === undefined || op.sharedProblems?.has(code)) add(problems[code].status, code)
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

function parameters(op: OpenApiOperation): JsonObject[] {
  const path = Object.entries(op.pathParams ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema: openApiSchema(schema, 'input') }))
  const query = Object.entries(op.query?.shape ?? {}).map(([name, field]) => {
    const schema = openApiSchema(field as z.ZodType, 'input')
    return { name, in: 'query', required: !(field as z.ZodType).safeParse(undefined).success, schema }
  })
  return [...path, ...query]
}

function operation(id: string, op: OpenApiOperation): JsonObject {
  const success: JsonObject = { description: op.success.description }
  if (op.success.schema) success.content = { 'application/json': { schema: openApiSchema(op.success.schema, 'output') } }
  if (op.success.headers) success.headers = op.success.headers
  const doc: JsonObject = {
    operationId: id,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [...op.tags],
    security: [...op.security],
    parameters: parameters(op),
    responses: {
      [String(op.success.status)]: success,
      ...Object.fromEntries((op.otherSuccesses ?? []).map((other) => [String(other.status), { ...success, description: other.description }])),
      ...problemResponses(op),
    },
    ...op.extensions,
  }
  if (op.body) {
    const schema = openApiSchema(op.body, 'input')
    doc.requestBody = {
      required: op.bodyRequired ?? false,
      content: {
        'application/json': { schema },
        ...(op.form ? { 'application/x-www-form-urlencoded': { schema } } : {}),
      },
    }
  }
  return doc
}

export type OpenApiDocumentInput = {
  info: { title: string; version: string; description: string }
  serverUrl: string
  tags: readonly { name: string; description: string }[]
  /** Operation id → operation, in document order. */
  operations: Readonly<Record<string, OpenApiOperation>>
  securitySchemes: JsonObject
  /** Codes the service answers outside any operation (an unknown path's `not_found`). */
  otherProblems?: readonly ErrorCode[]
}

/**
 * An OpenAPI 3.1 document built from a service's route table and its zod schemas
 * (`z.toJSONSchema`), so the document cannot drift from what the handlers accept. `x-problems`
 * lists every code the service can answer with: its status, title, `type` URI and, where an
 * operation answers it with another status, `other_statuses`.
 *
 * @example
 * const doc = buildOpenApiDocument({ info, serverUrl: config.PUBLIC_URL, tags, operations, securitySchemes })
 */
export function buildOpenApiDocument(input: OpenApiDocumentInput): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {}
  const codes = new Set<ErrorCode>(input.otherProblems ?? [])
  const otherStatuses = new Map<ErrorCode, Set<number>>()
  for (const [id, op] of Object.entries(input.operations)) {
    paths[op.path] = { ...paths[op.path], [op.method]: operation(id, op) }
    for (const code of op.problems) codes.add(code)
    for (const [code, status] of Object.entries(op.problemStatus ?? {}) as [ErrorCode, number][]) {
      otherStatuses.set(code, new Set([...(otherStatuses.get(code) ?? []), status]))
    }
  }
  return {
    openapi: '3.1.0',
    info: input.info,
    servers: [{ url: input.serverUrl }],
    tags: input.tags,
    paths,
    components: {
      schemas: { Problem: openApiSchema(problemSchema, 'output') },
      securitySchemes: input.securitySchemes,
    },
    'x-problems': Object.fromEntries(
      [...codes].sort().map((code) => {
        const other = [...(otherStatuses.get(code) ?? [])].sort()
        return [code, { status: problems[code].status, ...(other.length > 0 ? { other_statuses: other } : {}), title: problems[code].title, type: problemType(code) }]
      }),
    ),
  }
}
