import assert from 'node:assert/strict'
import type { JsonResponse } from '@platform/testkit'

// Holds answers to an OpenAPI document the services generate (auth, license, payments): the
// e2e suites call every documented operation and check each answer here.

/* eslint-disable @typescript-eslint/no-explicit-any -- the document is arbitrary JSON */
export type Operation = { operationId: string; method: string; path: string; responses: Record<string, any>; requestBody?: any; 'x-internal'?: boolean; parameters: any[] }

/** Every operation of the document, with its method (upper case) and path. */
export function operationsOf(doc: any): Operation[] {
  return Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ ...op, method: method.toUpperCase(), path })),
  )
}

/** Checks the answer against the document: a documented status, a documented code, the documented shape. */
export function assertDocumented(op: Operation, res: JsonResponse, what: string): void {
  const label = `${op.method} ${op.path} (${what})`
  const documented = op.responses[String(res.status)]
  assert.ok(documented, `${label}: status ${res.status} is not documented (${Object.keys(op.responses).join(', ')}): ${res.text}`)
  if (res.status >= 400) {
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, label)
    const codes: string[] = documented.content['application/problem+json'].schema.allOf[1].properties.code.enum
    assert.ok(codes.includes(res.body.code), `${label}: code ${res.body.code} is not documented for ${res.status} (${codes.join(', ')})`)
    return
  }
  const schema = documented.content?.['application/json']?.schema
  if (!schema) {
    assert.equal(res.text, '', `${label}: no body documented`)
    return
  }
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, label)
  assertShape(schema, res.body, label)
  const itemSchema = schema.properties?.items?.items
  if (itemSchema && Array.isArray(res.body.items)) for (const item of res.body.items) assertShape(itemSchema, item, `${label}: item`)
}

/** Every required field present; no undocumented one where the schema is closed. */
function assertShape(schema: any, body: Record<string, unknown>, label: string): void {
  for (const key of schema.required ?? []) assert.ok(key in body, `${label}: documented field ${key} missing`)
  if (schema.additionalProperties === false) {
    for (const key of Object.keys(body)) assert.ok(key in schema.properties, `${label}: undocumented field ${key}`)
  }
}
