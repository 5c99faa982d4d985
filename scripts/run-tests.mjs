#!/usr/bin/env node
// Runs every *.test.ts under the given roots (default: the whole repo) in two `node --test` runs:
// first every ordinary test file, two at a time; then the *.serial.test.ts files one at a time,
// after everything else finished: they disturb servers other tests share (they stop RabbitMQ).
// Both runs always happen; the exit code is non-zero if either failed, and a summary of both
// closes the output, so CI reads one. Node 20's runner has no glob support, hence the walk.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'

const SKIP = new Set(['node_modules', '.data', '.git', '.turbo', 'dist'])
const SERIAL_SUFFIX = '.serial.test.ts'

function findTests(dir, out) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) findTests(path, out)
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const roots = process.argv.slice(2)
const files = (roots.length ? roots : ['.']).flatMap((root) => findTests(resolve(root), [])).sort()
if (files.length === 0) {
  console.log('no test files found')
  process.exit(0)
}

const runs = [
  { name: 'main run', concurrency: 2, files: files.filter((f) => !f.endsWith(SERIAL_SUFFIX)) },
  { name: 'serial run', concurrency: 1, files: files.filter((f) => f.endsWith(SERIAL_SUFFIX)) },
].filter((run) => run.files.length > 0)

const work = mkdtempSync(join(tmpdir(), 'run-tests-'))
const results = []
try {
  for (const run of runs) {
    if (runs.length > 1) console.log(`\n::: ${run.name}: ${run.files.length} file(s), concurrency ${run.concurrency}\n`)
    // The spec reporter for people, a TAP copy to read the totals from.
    const tap = join(work, `${results.length}.tap`)
    const result = spawnSync(
      process.execPath,
      [
        '--import', 'tsx', '--test', `--test-concurrency=${run.concurrency}`,
        '--test-reporter=spec', '--test-reporter-destination=stdout',
        '--test-reporter=tap', `--test-reporter-destination=${tap}`,
        ...run.files,
      ],
      { stdio: 'inherit' },
    )
    results.push({ ...run, status: result.status ?? 1, totals: totalsOf(tap) })
  }
} finally {
  if (runs.length > 1) {
    console.log('\n::: test summary')
    for (const r of results) {
      const totals = Object.entries(r.totals).map(([key, n]) => `${key} ${n}`).join(', ') || 'no totals reported'
      console.log(`:::   ${r.name} (${r.files.length} files, concurrency ${r.concurrency}): ${totals}; exit ${r.status}`)
    }
  }
  rmSync(work, { recursive: true, force: true })
}
process.exit(results.length === runs.length && results.every((r) => r.status === 0) ? 0 : 1)

/** The runner's closing totals (`# tests 12`, `# pass 11`, ...) from its TAP output. */
function totalsOf(tapPath) {
  const totals = {}
  let text = ''
  try {
    text = readFileSync(tapPath, 'utf8')
  } catch {
    return totals
  }
  for (const match of text.matchAll(/^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) totals[match[1]] = Number(match[2])
  return totals
}
