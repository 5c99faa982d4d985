import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, it } from 'node:test'
import { problems, problemType } from '@platform/contracts'
import { assertRoutesDocumented, KIT_CODES } from '@platform/platform/openapi-testing'
import { api, problemsOf, type RouteSpec } from '../src/http/api.ts'
import { buildOpenApi } from '../src/http/openapi.ts'
import { OPENAPI_FILE, renderOpenApi } from '../src/write-openapi.ts'

const SRC = fileURLToPath(new URL('../src/', import.meta.url))

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : [join(dir, e.name)])))
  return nested.flat().filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
}

/** Every error code written in the service's source where an answer is made from it. */
async function codesInSource(): Promise<Set<string>> {
  const found = new Set<string>()
  const patterns = [/AppError\(\s*'([a-z_]+)'/g, /pathId\(\s*\w+,\s*'([a-z_]+)'\)/g, /sendProblem\(\s*\w+,\s*'([a-z_]+)'/g]
  for (const file of await sourceFiles(SRC)) {
    const text = await readFile(file, 'utf8')
    for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.add(match[1]!)
  }
  return found
}

describe('the auth OpenAPI document and the error catalogue', () => {
  const doc = buildOpenApi({ serverUrl: 'https://localhost:8443' }) as {
    paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { allOf?: { properties?: { code?: { enum: string[] } } }[] } }> }> }>>
    'x-problems': Record<string, { status: number; other_statuses?: number[]; title: string; type: string }>
  }
  const documented = new Set(Object.keys(doc['x-problems']))

  it('documents every error code the service can emit, and each is in the contracts catalogue', async () => {
    const emitted = new Set([...(await codesInSource()), ...KIT_CODES])
    assert.ok(emitted.size > KIT_CODES.length, 'the scan found the service’s own codes')
    for (const code of emitted) {
      assert.ok(code in problems, `${code} is in packages/contracts problems`)
      assert.ok(documented.has(code), `${code} is documented in x-problems`)
    }
    for (const code of ['account_locked', 'session_not_found', 'user_not_found', 'csrf_failed', 'forbidden', 'invalid_credentials']) {
      assert.ok(emitted.has(code), `the scan sees ${code}`)
    }
  })

  it('documents only codes of the catalogue, each under its own status with its title and type', () => {
    for (const [code, entry] of Object.entries(doc['x-problems'])) {
      const known = problems[code as keyof typeof problems]
      assert.ok(known, `${code} exists in packages/contracts`)
      // `other_statuses`: a route answering the code with another status CONTRACT gives it (400 `invalid_token` for a link token).
      const { other_statuses: other, ...rest } = entry
      assert.deepEqual(rest, { status: known.status, title: known.title, type: problemType(code as keyof typeof problems) })
      assert.ok(other === undefined || other.every((s) => s !== known.status), `${code}: other statuses differ from its own`)
    }
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const [status, response] of Object.entries(op.responses)) {
          const codes = response.content?.['application/problem+json']?.schema.allOf?.[1]?.properties?.code?.enum ?? []
          for (const code of codes) {
            const entry = doc['x-problems'][code]
            assert.ok([entry?.status, ...(entry?.other_statuses ?? [])].includes(Number(status)), `${method} ${path}: ${code} under ${status}`)
            if (entry?.status !== Number(status)) {
              const spec = Object.values(api).find((r) => r.path === path && r.method === method) as RouteSpec | undefined
              assert.equal(spec?.problemStatus?.[code as keyof typeof problems], Number(status), `${method} ${path}: ${code} under ${status} is the route's own`)
            }
          }
        }
      }
    }
  })

  it('lists every route of the route table with its method, and each route documents at least its own codes', () => {
    assertRoutesDocumented(doc, api as Record<string, RouteSpec>, problemsOf)
  })

  it('is committed as docs/openapi/auth.json, up to date (`npm run openapi -w @platform/auth` rewrites it)', async () => {
    assert.equal(await readFile(OPENAPI_FILE, 'utf8'), renderOpenApi())
  })
})
