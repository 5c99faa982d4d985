#!/usr/bin/env node
// Runs every *.test.ts under the given roots (default: the whole repo) in one `node --test`
// invocation, so CI reads a single summary. Node 20's runner has no glob support, hence the walk.
import { readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { spawnSync } from 'node:child_process'

const SKIP = new Set(['node_modules', '.data', '.git', '.turbo', 'dist'])
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
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)
