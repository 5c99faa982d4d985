import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { createAmqpBus } from '@platform/bus'
import { startAudit } from '@platform/audit/start'
import { infraUrl, waitUntil } from '@platform/testkit'
import { adminOf, holdChainHead, publishEvents, waitForAudit } from '../src/audit-fixtures.ts'
import { RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { startStack, type Stack } from '../src/stack.ts'
import { startTcpProxy } from '../src/tcp-proxy.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const amqpUrl = infraUrl('AMQP_URL')
const databaseUrl = infraUrl('DATABASE_URL')
const EVENTS = 400

// Real servers only: a second audit replica must share the stack's PostgreSQL database, and the
// broker must requeue what a dead consumer held. The shared RabbitMQ is never stopped: each test
// cuts only the connection of the replica it started.
describe('audit faults against RabbitMQ and PostgreSQL', { skip: (!amqpUrl || !databaseUrl) && 'needs AMQP_URL and DATABASE_URL' }, () => {
  let stack: Stack
  let admin: { accessToken: string }

  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS })
    admin = await adminOf(stack)
  })
  after(() => stack?.stop())

  const integrity = async () => (await stack.client.request('GET', '/audit/integrity', { token: admin.accessToken })).body

  it('when a replica loses its broker connection mid-batch and then commits, the redelivered events are not stored twice', async (t) => {
    const broker = new URL(amqpUrl!)
    const proxy = await startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) })
    t.after(() => proxy.close())
    const proxied = new URL(amqpUrl!)
    proxied.hostname = '127.0.0.1'
    proxied.port = String(proxy.port)
    const victim = await startAudit({ env: { ...stack.env, AUDIT_PORT: '0', AUTH_URL: stack.platform.auth.url, AMQP_URL: proxied.toString(), LOG_LEVEL: 'silent' } })
    t.after(() => victim.stop())
    const survivor = stack.platform.audit.consumer
    const before = { survivor: survivor.stats(), victim: victim.consumer.stats() }

    const release = await holdChainHead(stack)
    const events = await publishEvents(stack, ...Array.from({ length: EVENTS }, (_, n) => ({ type: 'license.license.activated', source: 'license', data: { n } })))
    await waitUntil(() => victim.consumer.stats().pending > 0 && survivor.stats().pending > 0, { timeoutMs: 15_000, what: 'both replicas holding deliveries' })
    // The victim's broker connection dies with its deliveries unacked; its batch is still waiting
    // on the chain head and commits once released, so those events are stored but never acked.
    await proxy.cut()
    await release()
    await waitForAudit(stack, events.map((e) => e.id), 30_000)
    const delta = (key: 'stored' | 'duplicates') => survivor.stats()[key] - before.survivor[key] + victim.consumer.stats()[key] - before.victim[key]
    await waitUntil(() => delta('duplicates') > 0, { timeoutMs: 15_000, what: 'the redeliveries to be absorbed' })

    assert.ok(victim.consumer.stats().stored - before.victim.stored > 0, 'the victim committed its batch after the cut')
    assert.equal(delta('stored'), EVENTS)
    const rows = await stack.platform.audit.deps.db.selectFrom('audit_records').select('id').where('id', 'in', events.map((e) => e.id)).execute()
    assert.equal(rows.length, EVENTS)
    assert.equal((await integrity()).ok, true)
  })

  it('when a replica process is killed mid-batch, before its commit, its events are redelivered and stored once', async (t) => {
    const victimDb = new URL(stack.env.AUDIT_DATABASE_URL!)
    victimDb.searchParams.set('application_name', 'audit-victim')
    const child = await startAuditProcess({ ...stack.env, AUDIT_PORT: '0', AUTH_URL: stack.platform.auth.url, AUDIT_DATABASE_URL: victimDb.toString() })
    t.after(() => child.kill('SIGKILL'))

    const release = await holdChainHead(stack)
    const events = await publishEvents(stack, ...Array.from({ length: EVENTS }, (_, n) => ({ type: 'license.license.deactivated', source: 'license', data: { n } })))
    const waiting = async () => {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where application_name = 'audit-victim' and wait_event_type = 'Lock'`.execute(stack.platform.audit.deps.db)
      return (rows[0]?.n ?? 0) > 0
    }
    await waitUntil(waiting, { timeoutMs: 20_000, what: 'the victim process to wait on the chain head with a batch' })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    await release()
    await waitForAudit(stack, events.map((e) => e.id), 30_000)

    // Nothing of the victim's batch committed, yet every event is stored, each once (the id is
    // unique); which of the live consumers stored it is up to the broker.
    const rows = await stack.platform.audit.deps.db.selectFrom('audit_records').select('id').where('id', 'in', events.map((e) => e.id)).execute()
    assert.equal(rows.length, EVENTS)
    assert.equal((await integrity()).ok, true)
  })

  it('when a poison message arrives, it ends in audit.events.dlq and the events behind it are stored', async (t) => {
    const prefix = stack.env.AMQP_PREFIX ?? ''
    const bus = createAmqpBus({ url: amqpUrl! })
    t.after(() => bus.close())
    const poison = `poison-${Date.now()} {not json`

    await bus.publishRaw('auth.login.failed', poison, { exchange: `${prefix}platform.events` })
    const behind = await publishEvents(stack, ...Array.from({ length: 20 }, (_, n) => ({ type: 'auth.login.failed', outcome: 'failure' as const, data: { n } })))

    await waitForAudit(stack, behind.map((e) => e.id))
    await waitUntil(async () => (await bus.deadLetters(`${prefix}audit.events`)).some((l) => l.body === poison), { timeoutMs: 10_000, what: 'the poison in the DLQ' })
    const letter = (await bus.deadLetters(`${prefix}audit.events`)).find((l) => l.body === poison)!
    assert.equal(letter.reason, 'invalid')
    assert.match(letter.error, /JSON/)
  })
})

/** Runs the audit service as its own process (`npm start -w @platform/audit` does the same), ready once subscribed. */
async function startAuditProcess(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/audit/src/main.ts'], { cwd: ROOT, env: { ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`audit process not ready:\n${output.slice(-2000)}`)), 30_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('"msg":"audit ready"')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`audit process exited with ${code}:\n${output.slice(-2000)}`))
    })
  })
  return child
}
