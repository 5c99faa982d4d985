import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createConnection, createServer } from 'node:net'
import { describe, it } from 'node:test'
import { waitUntil } from '@platform/testkit/infra'
import { createRedisKv, KvUnavailableError, type Kv } from '../src/index.ts'

// A private redis-server on a free port: killing the shared one on 6379 would break parallel runs.
const hasRedisServer = !spawnSync('redis-server', ['--version']).error
if (!hasRedisServer && process.env.REQUIRE_INFRA === '1') {
  throw new Error('redis-server is not on PATH but REQUIRE_INFRA=1 demands the outage test')
}
// Generous: the store answers within ~2 × commandTimeoutMs (1 s), also for calls queued behind
// an auto-pipeline in flight; this only stops a hang.
const REJECT_WITHIN_MS = 3_000

describe('redis kv: outage and recovery', { skip: !hasRedisServer }, () => {
  it('when Redis dies, calls reject with KvUnavailableError; when it is back, the same instance works', async (t) => {
    const port = await freePort()
    const servers: ChildProcess[] = []
    t.after(() => Promise.all(servers.map(stopServer)))
    servers.push(await startServer(port))
    const kv = createRedisKv({
      url: `redis://127.0.0.1:${port}`,
      prefix: `outage:${randomUUID()}:`,
    })
    t.after(() => kv.close())
    await kv.set('before', 'v')
    assert.equal(await kv.get('before'), 'v')

    await stopServer(servers[0]!)

    await rejectsUnavailable(kv.get('before'))
    await rejectsUnavailable(kv.set('during', 'v'))
    await rejectsUnavailable(kv.hit('during-hit', 60_000))
    await rejectsUnavailable(kv.mget(['before', 'during']))
    await rejectsUnavailable(kv.setMany([{ key: 'during-many', value: 'v' }]))
    await rejectsUnavailable(kv.ping())

    servers.push(await startServer(port))
    await waitUntil(() => answers(kv), { timeoutMs: 10_000, what: 'the kv to reconnect' })

    // The new server starts empty (no persistence); the script must be loaded again on it too.
    assert.equal(await kv.get('before'), null)
    assert.equal(await kv.set('after', 'v2'), true)
    assert.equal(await kv.get('after'), 'v2')
    assert.equal((await kv.hit('after-hit', 60_000)).count, 1)
    assert.equal((await kv.hit('after-hit', 60_000)).count, 2)
  })

  it('when Redis stops answering with the connection open, every call in flight or queued rejects, and the same instance works once it answers again', async (t) => {
    const port = await freePort()
    const server = await startServer(port)
    t.after(() => stopServer(server))
    const kv = createRedisKv({ url: `redis://127.0.0.1:${port}`, prefix: `hang:${randomUUID()}:`, commandTimeoutMs: 500 })
    t.after(() => kv.close())
    await kv.set('before', 'v')

    server.kill('SIGSTOP')
    t.after(() => server.kill('SIGCONT'))
    // Calls in two turns of the event loop: the second turn's wait behind the first turn's.
    const first = Array.from({ length: 10 }, (_, i) => kv.hit(`hang-${i}`, 60_000))
    await new Promise((resolve) => setImmediate(resolve))
    const second = Array.from({ length: 10 }, () => kv.get('before'))
    await Promise.all([...first, ...second].map((call) => rejectsUnavailable(call)))
    server.kill('SIGCONT')

    await waitUntil(() => answers(kv), { timeoutMs: 10_000, what: 'the kv to answer again' })
    assert.equal(await kv.get('before'), 'v')
  })
})

async function rejectsUnavailable(call: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no rejection within ${REJECT_WITHIN_MS} ms`)),
      REJECT_WITHIN_MS,
    )
  })
  try {
    await assert.rejects(Promise.race([call, hang]), (err: unknown) => {
      assert.ok(
        err instanceof KvUnavailableError,
        `expected KvUnavailableError, got ${String(err)}`,
      )
      assert.equal(err.name, 'KvUnavailableError')
      return true
    })
  } finally {
    clearTimeout(timer)
  }
}

async function answers(kv: Kv): Promise<boolean> {
  try {
    await kv.ping()
    return true
  } catch (err) {
    if (err instanceof KvUnavailableError) return false
    throw err
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  assert.ok(address && typeof address === 'object')
  return address.port
}

async function startServer(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  let exited = false
  child.once('exit', () => (exited = true))
  await waitUntil(
    async () => {
      if (exited) throw new Error(`redis-server on port ${port} exited during start`)
      return pong(port)
    },
    { timeoutMs: 10_000, what: `redis-server on port ${port} to answer PONG` },
  )
  return child
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString()
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}
