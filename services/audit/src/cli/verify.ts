import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { digestsOf, fileLines, verifyExport } from './verify-export.ts'

// `npm run audit:verify -- <export.ndjson> --digests <digests.json> --jwks <jwks.json>`
// Offline: reads three files, never the database. Exit 0: verified; 1: not verified or bad usage.
const USAGE = 'usage: npm run audit:verify -- <export.ndjson> --digests <digests.json> [--digests <more.json>] --jwks <jwks.json>'

// npm runs scripts from the repository root; paths are meant relative to where it was called.
const base = process.env.INIT_CWD ?? process.cwd()

let args
try {
  args = parseArgs({ allowPositionals: true, options: { digests: { type: 'string', multiple: true }, jwks: { type: 'string' } } })
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`)
  process.exit(1)
}
const [exportFile] = args.positionals
if (!exportFile || !args.values.digests?.length || !args.values.jwks || args.positionals.length > 1) {
  process.stderr.write(`${USAGE}\n`)
  process.exit(1)
}

try {
  const digests = digestsOf(await Promise.all(args.values.digests.map(async (file) => JSON.parse(await readFile(resolve(base, file), 'utf8')) as unknown)))
  const jwks = JSON.parse(await readFile(resolve(base, args.values.jwks), 'utf8')) as { keys?: unknown }
  if (!Array.isArray(jwks.keys)) throw new Error('the JWKS file must be {"keys": [...]} as GET /audit/.well-known/jwks.json returns it')
  const report = await verifyExport({ exportLines: fileLines(resolve(base, exportFile)), digests, jwks: { keys: jwks.keys } })
  for (const line of report.lines) (report.ok ? process.stdout : process.stderr).write(`audit:verify ${line}\n`)
  process.exit(report.ok ? 0 : 1)
} catch (error) {
  process.stderr.write(`audit:verify FAILED: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
}
