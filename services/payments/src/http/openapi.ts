import { buildOpenApiDocument, routeOperation, type OpenApiOperation } from '@platform/platform/openapi'
import { api, problemsOf, type OperationId, type RouteSpec } from './api.ts'
import { sessionIdParam } from './schemas.ts'

type JsonObject = Record<string, unknown>

function operationOf(spec: RouteSpec): OpenApiOperation {
  return routeOperation(spec, { tags: ['payments'], security: spec.access.kind === 'bearer' ? [{ bearer: [] }] : [], pathParam: sessionIdParam, problems: problemsOf(spec) })
}

/** What the shared generator has no field for: the webhook's signature header. */
const STRIPE_SIGNATURE_HEADER = {
  name: 'Stripe-Signature',
  in: 'header',
  required: true,
  description: '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body" under the endpoint secret>` (several `v1=` while a secret is rolled)',
  schema: { type: 'string', maxLength: 4096 },
}

/**
 * The OpenAPI 3.1 document of the payments API, built by the platform's generator from the route
 * table and the very zod schemas requests are validated with (the webhook's body with the schema
 * its payload is parsed with once the signature holds).
 */
export function buildOpenApi(opts: { serverUrl: string }): JsonObject {
  const doc = buildOpenApiDocument({
    info: {
      title: 'Security platform: payments',
      version: '1.0.0',
      description:
        "Plans, checkout and subscriptions; Stripe's webhook. Card data never touches the platform. Errors are `application/problem+json` (RFC 9457) with a stable `code`; unknown JSON fields are rejected (not in the webhook, whose body is Stripe's). Someone else's checkout session answers 404 `checkout_session_not_found`, as an unknown id does. Any unknown path answers 404 `not_found`.",
    },
    serverUrl: opts.serverUrl,
    tags: [{ name: 'payments', description: 'Plans, checkout, subscriptions, provider webhooks' }],
    operations: Object.fromEntries((Object.entries(api) as [OperationId, RouteSpec][]).map(([id, spec]) => [id, operationOf(spec)])),
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (typ at+jwt, ES256) from /auth/login' } },
    otherProblems: ['not_found'],
  })
  const webhook = (doc.paths as Record<string, Record<string, { parameters: JsonObject[]; requestBody: JsonObject }>>)[api.stripeWebhook.path]![api.stripeWebhook.method]!
  webhook.parameters = [STRIPE_SIGNATURE_HEADER, ...webhook.parameters]
  webhook.requestBody = { description: 'The Stripe event JSON exactly as Stripe sent it: the signature is checked over these raw bytes, before any parsing', ...webhook.requestBody }
  return doc
}
