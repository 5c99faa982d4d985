import { buildOpenApiDocument, routeOperation, type OpenApiOperation } from '@platform/platform/openapi'
import { api, problemsOf, type RouteSpec } from './api.ts'
import { idParam } from './schemas.ts'

type JsonObject = Record<string, unknown>

function security(spec: RouteSpec): JsonObject[] {
  if (spec.access.kind === 'public') return spec.path === '/auth/refresh' ? [{}, { refreshCookie: [], csrfHeader: [] }] : []
  if (spec.access.kind === 'client') return [{ introspectionClient: [] }]
  return [{ bearer: [] }]
}

/** One route of the table as the shared generator documents it. */
function operationOf(spec: RouteSpec): OpenApiOperation {
  const problems = problemsOf(spec)
  const { setsCookies, ...success } = spec.success
  return {
    ...routeOperation(spec, { tags: [spec.path.startsWith('/auth/admin') ? 'admin' : 'auth'], security: security(spec), pathParam: idParam, problems }),
    ...(spec.body ? { form: spec.form ?? false } : {}),
    success: { ...success, ...(setsCookies ? { headers: { 'Set-Cookie': { description: 'Cookie mode only', schema: { type: 'string' } } } } : {}) },
    sharedProblems: new Set(problemsOf({ ...spec, problems: [] })),
    ...(spec.problemStatus ? { problemStatus: spec.problemStatus } : {}),
    extensions: {
      ...(spec.access.kind === 'permission' ? { 'x-permission': spec.access.permission } : {}),
      ...(spec.internal ? { 'x-internal': true } : {}),
    },
  }
}

/**
 * The OpenAPI 3.1 document of the auth API, built from the route table and the very zod schemas
 * requests are validated with (the generator is `@platform/platform/openapi`, shared with the
 * license service). `x-problems` lists every code the service can answer with, with its status,
 * title and `type` URI.
 */
export function buildOpenApi(opts: { serverUrl: string }): JsonObject {
  return buildOpenApiDocument({
    info: {
      title: 'Security platform: auth',
      version: '1.0.0',
      description:
        'Accounts, sessions and tokens. Errors are `application/problem+json` (RFC 9457) with a stable `code`; unknown JSON fields are rejected; lists answer `{items, next_cursor}`. Any unknown path answers 404 `not_found`.',
    },
    serverUrl: opts.serverUrl,
    tags: [
      { name: 'auth', description: 'Accounts, sessions, tokens' },
      { name: 'admin', description: 'Administration (role `admin`)' },
    ],
    operations: Object.fromEntries((Object.entries(api) as [string, RouteSpec][]).map(([id, spec]) => [id, operationOf(spec)])),
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (typ at+jwt, ES256)' },
      introspectionClient: { type: 'http', scheme: 'basic' },
      refreshCookie: { type: 'apiKey', in: 'cookie', name: '__Secure-refresh_token' },
      csrfHeader: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token' },
    },
    otherProblems: ['not_found'],
  })
}
