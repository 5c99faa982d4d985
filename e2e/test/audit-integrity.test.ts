import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { waitUntil } from '@platform/testkit'
import { adminOf, publishEvents, waitForAudit, type AuditRecord } from '../src/audit-fixtures.ts'
import { RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { startStack, type Stack } from '../src/stack.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

describe('audit through the gateway: integrity, export, signed digests, offline verification', () => {
  let stack: Stack
  let admin: { accessToken: string }
  let dir: string

  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS, AUDIT_DIGEST_INTERVAL: '1' })
    admin = await adminOf(stack)
    dir = await mkdtemp(join(tmpdir(), 'audit-verify-'))
  })
  after(async () => {
    await stack?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const get = (path: string) => stack.client.request('GET', path, { token: admin.accessToken })

  it('when a stored row is changed directly in the database, GET /audit/integrity answers ok:false with its seq', async () => {
    const events = await publishEvents(stack, ...Array.from({ length: 3 }, (_, n) => ({ type: 'license.license.revoked', source: 'license', data: { n } })))
    const seqs = await waitForAudit(stack, events.map((e) => e.id))
    const target = seqs.get(events[1]!.id)!
    const db = stack.platform.audit.deps.db
    const before = await get('/audit/integrity')

    await db.updateTable('audit_records').set({ source: 'forged' }).where('seq', '=', String(target)).execute()
    const tampered = await get('/audit/integrity')
    await db.updateTable('audit_records').set({ source: 'license' }).where('seq', '=', String(target)).execute()
    const restored = await get('/audit/integrity')

    assert.equal(before.body.ok, true, before.text)
    assert.equal(tampered.status, 200)
    assert.equal(tampered.body.ok, false)
    assert.equal(tampered.body.first_bad_seq, target)
    assert.equal(restored.body.ok, true)
    assert.ok(restored.body.checked >= 3)
  })

  it('when the log is exported with its digests and keys, audit:verify passes offline, and fails on a changed export', async () => {
    const events = await publishEvents(stack, ...Array.from({ length: 5 }, (_, n) => ({ actor_id: `actor-${n}`, data: { n, password: 'never stored' } })))
    const seqs = await waitForAudit(stack, events.map((e) => e.id))
    const last = Math.max(...seqs.values())
    await waitUntil(async () => ((await get('/audit/digests?limit=500')).body.items as { to_seq: number }[]).some((d) => d.to_seq >= last), { timeoutMs: 15_000, what: `a digest covering seq ${last}` })

    const exported = await get('/audit/export')
    const digests = await get('/audit/digests?limit=500')
    const jwks = await stack.client.request('GET', '/audit/.well-known/jwks.json')
    assert.equal(exported.status, 200)
    assert.match(exported.headers.get('content-type') ?? '', /^application\/x-ndjson/)
    assert.doesNotMatch(exported.text, /never stored/)
    const records = exported.text.trim().split('\n').map((line) => JSON.parse(line) as AuditRecord)
    assert.deepEqual(records.map((r) => r.seq), records.map((_, i) => records[0]!.seq + i))
    await writeFile(join(dir, 'export.ndjson'), exported.text)
    await writeFile(join(dir, 'digests.json'), digests.text)
    await writeFile(join(dir, 'jwks.json'), jwks.text)
    const victim = records.find((r) => r.id === events[2]!.id)!
    const altered = exported.text.replace(JSON.stringify(victim), JSON.stringify({ ...victim, actor_id: 'someone-else' }))
    await writeFile(join(dir, 'altered.ndjson'), altered)

    const forgedJwks = await foreignKeyUnderRealKid(jwks.body.keys[0].kid)
    const [good, bad, forgedKeys] = await Promise.all([
      verifyCli(join(dir, 'export.ndjson'), join(dir, 'digests.json'), join(dir, 'jwks.json')),
      verifyCli(join(dir, 'altered.ndjson'), join(dir, 'digests.json'), join(dir, 'jwks.json')),
      verifyCli(join(dir, 'export.ndjson'), join(dir, 'digests.json'), forgedJwks),
    ])

    assert.equal(good.code, 0, good.output)
    assert.match(good.output, /OK: \d+ records .* form an intact hash chain/)
    assert.equal(bad.code, 1, bad.output)
    assert.match(bad.output, new RegExp(`record ${victim.seq} was altered`))
    assert.equal(forgedKeys.code, 1, forgedKeys.output)
    assert.match(forgedKeys.output, /signature does not verify/)
  })

  // Someone who controls the files swaps in their own key under the published kid.
  async function foreignKeyUnderRealKid(kid: string): Promise<string> {
    const { publicKey } = generateKeyPairSync('ed25519')
    const path = join(dir, 'forged-jwks.json')
    await writeFile(path, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' }] }))
    return path
  }
})

/** Runs `npm run audit:verify` as an operator would; resolves with its exit code and output. */
function verifyCli(exportFile: string, digestsFile: string, jwksFile: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'audit:verify', '--', exportFile, '--digests', digestsFile, '--jwks', jwksFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, output }))
  })
}
