import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { buildOpenApi } from './http/openapi.ts'

/** Where the generated document is committed, so reviews see API changes (STYLE §9). */
export const OPENAPI_FILE = fileURLToPath(new URL('../../../docs/openapi/payments.json', import.meta.url))

/** The committed form: as served with the default PUBLIC_URL, two-space JSON, final newline. */
export function renderOpenApi(): string {
  return `${JSON.stringify(buildOpenApi({ serverUrl: 'https://localhost:8443' }), null, 2)}\n`
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(OPENAPI_FILE, renderOpenApi())
  process.stdout.write(`wrote ${OPENAPI_FILE}\n`)
}
