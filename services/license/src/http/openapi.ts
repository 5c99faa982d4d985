import { buildOpenApiDocument, routeOperation, type OpenApiOperation } from '@platform/platform/openapi'
import { api, problemsOf, type RouteSpec } from './api.ts'
import { idParam } from './schemas.ts'

type JsonObject = Record<string, unknown>

function operationOf(spec: RouteSpec): OpenApiOperation {
  return routeOperation(spec, { tags: ['licenses'], security: spec.access.kind === 'bearer' ? [{ bearer: [] }] : [], pathParam: idParam, problems: problemsOf(spec) })
}

/**
 * The OpenAPI 3.1 document of the license API, built by the platform's generator from the route
 * table and the very zod schemas requests are validated with.
 */
export function buildOpenApi(opts: { serverUrl: string }): JsonObject {
  return buildOpenApiDocument({
    info: {
      title: 'Security platform: licenses',
      version: '1.0.0',
      description:
        'Issuing, activating and validating software licenses. Errors are `application/problem+json` (RFC 9457) with a stable `code`; unknown JSON fields are rejected; lists answer `{items, next_cursor}`. A license someone else owns answers 404 `license_not_found`, as an unknown id does. Any unknown path answers 404 `not_found`.',
    },
    serverUrl: opts.serverUrl,
    tags: [{ name: 'licenses', description: 'Licenses, activations, validation' }],
    operations: Object.fromEntries((Object.entries(api) as [string, RouteSpec][]).map(([id, spec]) => [id, operationOf(spec)])),
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (typ at+jwt, ES256) from /auth/login' } },
    otherProblems: ['not_found'],
  })
}
