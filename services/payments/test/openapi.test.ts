import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { assertEmittedCodesDocumented, assertProblemsMatchCatalogue, assertRoutesDocumented } from '@platform/platform/openapi-testing'
import { api, problemsOf, type RouteSpec } from '../src/http/api.ts'
import { buildOpenApi } from '../src/http/openapi.ts'
import { OPENAPI_FILE, renderOpenApi } from '../src/write-openapi.ts'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

/** Where the service's source makes an answer from a catalogue code. */
const CODE_PATTERNS = [/AppError\(\s*'([a-z_]+)'/g, /code: '([a-z_]+)'/g]

describe('the payments OpenAPI document and the error catalogue', () => {
  const doc = buildOpenApi({ serverUrl: 'https://localhost:8443' }) as {
    paths: Record<string, Record<string, { operationId: string; parameters: { name: string; in: string; required: boolean }[]; requestBody?: { content: Record<string, { schema: { required?: string[] } }> }; responses: Record<string, { content?: Record<string, { schema: { allOf?: { properties?: { code?: { enum: string[] } } }[] } }> }> }>>
    'x-problems': Record<string, { status: number; title: string; type: string }>
  }

  it('documents every error code the service can emit, and each is in the contracts catalogue', async () => {
    await assertEmittedCodesDocumented(doc, { dir: SRC, patterns: CODE_PATTERNS, expected: ['invalid_signature', 'subscription_exists', 'checkout_session_not_found', 'not_found', 'dependency_unavailable'] })
  })

  it('documents only codes of the catalogue, each under its own status with its title and type', () => {
    assertProblemsMatchCatalogue(doc)
  })

  it('lists every route of the route table with its method, and each route documents at least its own codes', () => {
    assertRoutesDocumented(doc, api as Record<string, RouteSpec>, problemsOf)
  })

  it('documents the webhook as the Stripe event JSON with a required Stripe-Signature header, and none of the JSON body errors', () => {
    const op = doc.paths['/payments/webhooks/stripe']!.post!
    assert.deepEqual(op.parameters.find((p) => p.name === 'Stripe-Signature')?.in, 'header')
    assert.equal(op.parameters.find((p) => p.name === 'Stripe-Signature')?.required, true)
    assert.deepEqual(op.requestBody?.content['application/json']?.schema.required, ['id', 'type', 'created', 'data'])
    const codes = Object.values(op.responses).flatMap((r) => r.content?.['application/problem+json']?.schema.allOf?.[1]?.properties?.code?.enum ?? [])
    assert.ok(codes.includes('invalid_signature'))
    for (const code of ['validation_failed', 'malformed_json', 'unsupported_media_type', 'unauthorized']) assert.ok(!codes.includes(code), code)
  })

  it('is committed as docs/openapi/payments.json, up to date (`npm run openapi -w @platform/payments` rewrites it)', async () => {
    assert.equal(await readFile(OPENAPI_FILE, 'utf8'), renderOpenApi())
  })
})
