import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { problems, problemType, type ErrorCode } from '@platform/contracts'
import type { RouteSpec } from './openapi.ts'

// Checks every service's OpenAPI drift test makes against the shared error catalogue.

/** Codes the shared kit answers with on a service's behalf (http-app.ts, require-bearer.ts). */
export const KIT_CODES = ['validation_failed', 'malformed_json', 'payload_too_large', 'unsupported_media_type', 'not_found', 'internal_error', 'unauthorized', 'invalid_token', 'token_expired', 'dependency_unavailable']

/** Every catalogue code that `patterns` (each capturing the code) find in the non-test `.ts` files under `dir`. */
export async function catalogueCodesIn(dir: string, patterns: readonly RegExp[]): Promise<Set<string>> {
  const found = new Set<string>()
  for (const file of await sourceFiles(dir)) {
    const text = await readFile(file, 'utf8')
    for (const pattern of patterns) for (const match of text.matchAll(pattern)) if (match[1]! in problems) found.add(match[1]!)
  }
  return found
}

/**
 * Every code the service's source (`dir`, found by `patterns`) or the kit can answer with is in
 * the contracts catalogue and documented in the document's `x-problems`; `expected` are codes the
 * scan must see, so a pattern that stops matching fails instead of checking nothing.
 */
export async function assertEmittedCodesDocumented(
  doc: { 'x-problems': Record<string, unknown> },
  source: { dir: string; patterns: readonly RegExp[]; expected: readonly string[] },
): Promise<void> {
  const emitted = new Set([...(await catalogueCodesIn(source.dir, source.patterns)), ...KIT_CODES])
  for (const code of source.expected) assert.ok(emitted.has(code), `the scan sees ${code}`)
  for (const code of emitted) {
    assert.ok(code in problems, `${code} is in packages/contracts problems`)
    assert.ok(code in doc['x-problems'], `${code} is documented in x-problems`)
  }
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : [join(dir, e.name)])))
  return nested.flat().filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
}

/** A generated document, as far as the catalogue checks read it. */
export type DocumentedProblems = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { allOf?: { properties?: { code?: { enum: string[] } } }[] } }> }> }>>
  'x-problems': Record<string, { status: number; title: string; type: string }>
}

/** `x-problems` holds only catalogue codes with their own status, title and type, and every operation lists each code under that status. */
export function assertProblemsMatchCatalogue(doc: DocumentedProblems): void {
  for (const [code, entry] of Object.entries(doc['x-problems'])) {
    const known = problems[code as keyof typeof problems]
    assert.ok(known, `${code} exists in packages/contracts`)
    assert.deepEqual(entry, { status: known.status, title: known.title, type: problemType(code as keyof typeof problems) })
  }
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      for (const [status, response] of Object.entries(op.responses)) {
        for (const code of response.content?.['application/problem+json']?.schema.allOf?.[1]?.properties?.code?.enum ?? []) {
          assert.equal(doc['x-problems'][code]?.status, Number(status), `${method} ${path}: ${code} under ${status}`)
        }
      }
    }
  }
}

/**
 * Every route of a service's table is in its document under its method with its id as
 * `operationId`, with a response for each success status and for the status of each of its codes.
 */
export function assertRoutesDocumented<Spec extends RouteSpec<{ kind: string }>>(
  doc: { paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>> },
  api: Readonly<Record<string, Spec>>,
  problemsOf: (spec: Spec) => readonly ErrorCode[],
): void {
  for (const [id, spec] of Object.entries(api)) {
    const op = doc.paths[spec.path]?.[spec.method]
    assert.ok(op, `${spec.method} ${spec.path}`)
    assert.equal(op.operationId, id)
    for (const status of [spec.success.status, ...(spec.otherSuccesses ?? []).map((s) => s.status)]) assert.ok(String(status) in op.responses, `${id}: ${status}`)
    for (const code of problemsOf(spec)) assert.ok(String(problems[code].status) in op.responses, `${id}: ${code}`)
  }
}
