import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { assertEmittedCodesDocumented, assertProblemsMatchCatalogue, assertRoutesDocumented } from '@platform/platform/openapi-testing'
import { api, problemsOf, type RouteSpec } from '../src/http/api.ts'
import { buildOpenApi } from '../src/http/openapi.ts'
import { OPENAPI_FILE, renderOpenApi } from '../src/write-openapi.ts'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

/** Where the service's source makes an answer from a catalogue code (thrown, refused, or a path id's 404). */
const CODE_PATTERNS = [/AppError\(\s*'([a-z_]+)'/g, /code: '([a-z_]+)'/g, /return '(license_[a-z_]+)'/g, /idOf\([^)]*'([a-z_]+)'\)/g]

describe('the license OpenAPI document and the error catalogue', () => {
  const doc = buildOpenApi({ serverUrl: 'https://localhost:8443' }) as {
    paths: Record<string, Record<string, { operationId: string; responses: Record<string, { content?: Record<string, { schema: { allOf?: { properties?: { code?: { enum: string[] } } }[] } }> }> }>>
    'x-problems': Record<string, { status: number; title: string; type: string }>
  }

  it('documents every error code the service can emit, and each is in the contracts catalogue', async () => {
    await assertEmittedCodesDocumented(doc, { dir: SRC, patterns: CODE_PATTERNS, expected: ['license_not_found', 'license_revoked', 'license_suspended', 'license_expired', 'machine_limit_reached', 'quota_exceeded', 'forbidden', 'activation_not_found'] })
  })

  it('documents only codes of the catalogue, each under its own status with its title and type', () => {
    assertProblemsMatchCatalogue(doc)
  })

  it('lists every route of the route table with its method, and each route documents at least its own codes', () => {
    assertRoutesDocumented(doc, api as Record<string, RouteSpec>, problemsOf)
  })

  it('is committed as docs/openapi/license.json, up to date (`npm run openapi -w @platform/license` rewrites it)', async () => {
    assert.equal(await readFile(OPENAPI_FILE, 'utf8'), renderOpenApi())
  })
})
