import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createAmqpBus } from '@platform/bus'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { deleteKeysWithPrefix } from '@platform/kv/testing'
import { createTestClient, infraUrl, waitUntil, type TestClient } from '@platform/testkit'
import { startServiceProcess, type ServiceProcess } from '../src/service-process.ts'
import { GOOD_PASSWORD, uniqueEmail, uniqueLoopbackAddress } from '../src/stack.ts'

const databaseUrl = infraUrl('DATABASE_URL')
const redisUrl = infraUrl('REDIS_URL')
const amqpUrl = infraUrl('AMQP_URL')

/** CONTRACT §3: a revocation takes effect at every gateway replica within 1 s. */
const REVOCATION_VISIBLE_WITHIN_MS = 1_000
const CONCURRENT_REFRESHES = 20

// Issue 7 item 4. Two gateways and two auth replicas, each its own OS process, so nothing in a
// process's memory can make a test pass: they share only one PostgreSQL database (auth), one
// Redis key prefix and one RabbitMQ prefix, as replicas in a cluster share them. Gateway A talks
// to auth A and gateway B to auth B.
describe('two gateway and two auth replicas on one PostgreSQL, Redis and RabbitMQ', { skip: (!databaseUrl || !redisUrl || !amqpUrl) && 'needs DATABASE_URL, REDIS_URL and AMQP_URL: replicas share state only through the real servers' }, () => {
  const run = randomBytes(6).toString('hex')
  const redisPrefix = `scaling-${run}:`
  const amqpPrefix = `scaling-${run}.`
  const authDatabaseUrl = databaseUrl ? uniqueDatabaseUrl(databaseUrl, 'auth_scaling') : ''
  const processes: ServiceProcess[] = []
  const dirs: string[] = []
  const gateways: { url: string; caPath: string }[] = []
  const clients: TestClient[] = []

  before(async () => {
    const authDir = await mkdtemp(join(tmpdir(), 'scaling-auth-'))
    dirs.push(authDir)
    const shared: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      LOG_LEVEL: 'info',
      REDIS_URL: redisUrl,
      REDIS_PREFIX: redisPrefix,
      AMQP_URL: amqpUrl,
      AMQP_PREFIX: amqpPrefix,
    }
    // Both auth replicas: one database and the same secrets (a cluster mounts one secret for all).
    const authEnv: NodeJS.ProcessEnv = {
      ...shared,
      AUTH_PORT: '0',
      DATA_DIR: authDir,
      AUTH_DATABASE_URL: authDatabaseUrl,
      AUTH_TOKEN_SECRET: randomBytes(32).toString('hex'),
      MAIL_TOKEN_KEY: randomBytes(32).toString('hex'),
      IP_HASH_KEY: randomBytes(32).toString('hex'),
    }
    // One after the other: the first creates the database, runs the migrations and stores the
    // signing key; the second finds them, as a second pod would.
    for (let n = 0; n < 2; n++) processes.push(await startServiceProcess('services/auth/src/main.ts', authEnv, 'auth ready'))
    for (const auth of processes.slice(0, 2)) {
      const dataDir = await mkdtemp(join(tmpdir(), 'scaling-gateway-'))
      dirs.push(dataDir)
      const gateway = await startServiceProcess(
        'gateway/src/main.ts',
        { ...shared, DATA_DIR: dataDir, GATEWAY_PORT: '0', GATEWAY_HTTP_PORT: '0', GATEWAY_ADMIN_PORT: '0', AUTH_URL: `http://127.0.0.1:${auth.ready.port}` },
        'gateway ready',
      )
      processes.push(gateway)
      gateways.push({ url: `https://localhost:${gateway.ready.port}`, caPath: join(dataDir, 'tls', 'ca.pem') })
    }
  })

  after(async () => {
    await Promise.all(clients.map((c) => c.close()))
    // Gateways first, then auth: no request may find its upstream gone half-way.
    for (const proc of processes.reverse()) await proc.stop()
    if (authDatabaseUrl) await dropDatabase(authDatabaseUrl).catch(() => undefined)
    if (redisUrl) await deleteKeysWithPrefix(redisUrl, redisPrefix)
    if (amqpUrl) {
      const bus = createAmqpBus({ url: amqpUrl, connectionName: 'e2e-scaling-cleanup' })
      await bus.deleteExchange(`${amqpPrefix}platform.events`).catch(() => undefined)
      await bus.close()
    }
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  })

  /** One client per gateway, both from the same client address (a fresh one per test). */
  function viaBoth(): { a: TestClient; b: TestClient } {
    const localAddress = uniqueLoopbackAddress()
    const [a, b] = gateways.map((g) => createTestClient(g.url, { caPath: g.caPath, localAddress }))
    clients.push(a!, b!)
    return { a: a!, b: b! }
  }

  async function registerAndLogin(client: TestClient): Promise<{ accessToken: string; refreshToken: string }> {
    const email = uniqueEmail('scaling')
    const registered = await client.request('POST', '/auth/register', { json: { email, password: GOOD_PASSWORD } })
    assert.equal(registered.status, 201, registered.text)
    const login = await client.request('POST', '/auth/login', { json: { email, password: GOOD_PASSWORD } })
    assert.equal(login.status, 200, login.text)
    return { accessToken: login.body.access_token, refreshToken: login.body.refresh_token }
  }

  const refresh = (client: TestClient, token: string) => client.request('POST', '/auth/refresh', { json: { refresh_token: token } })
  const me = (client: TestClient, token: string) => client.request('GET', '/auth/me', { token })

  it('when logins alternate between the two gateways, login_ip (5 / 60 s) still refuses the 6th overall with 429', async () => {
    const { a, b } = viaBoth()
    const attempt = (client: TestClient) => client.request('POST', '/auth/login', { json: { email: uniqueEmail('scaling-rl'), password: 'not the right password' } })

    const answers = []
    for (let n = 0; n < 7; n++) answers.push(await attempt(n % 2 === 0 ? a : b))

    assert.deepEqual(answers.map((r) => r.status), [401, 401, 401, 401, 401, 429, 429])
    const sixth = answers[5]!
    assert.equal(sixth.body.code, 'rate_limited')
    assert.ok(Number(sixth.headers.get('retry-after')) > 0, 'Retry-After')
    assert.equal(sixth.headers.get('ratelimit-policy'), '"login_ip";q=5;w=60')
  })

  it('when a session is logged out through gateway A and auth A, its access token is refused at gateway B within 1 s', async () => {
    const { a, b } = viaBoth()
    const session = await registerAndLogin(a)
    const seen = await me(b, session.accessToken)
    assert.equal(seen.status, 200, 'gateway B accepts the token before the logout')

    const logout = await a.request('POST', '/auth/logout', { token: session.accessToken })
    assert.equal(logout.status, 204, logout.text)

    let last = seen
    await waitUntil(
      async () => {
        last = await me(b, session.accessToken)
        return last.status === 401
      },
      { timeoutMs: REVOCATION_VISIBLE_WITHIN_MS, intervalMs: 10, what: 'gateway B to refuse the logged-out token' },
    )
    assert.match(last.headers.get('www-authenticate') ?? '', /error="invalid_token"/)
  })

  it('when a token rotated through B is reused through A, A answers refresh_token_reused and the family is dead at both', async () => {
    const { a, b } = viaBoth()
    const session = await registerAndLogin(a)
    const first = await refresh(b, session.refreshToken)
    assert.equal(first.status, 200, first.text)
    const second = await refresh(b, first.body.refresh_token)
    assert.equal(second.status, 200, second.text)
    // The immediate parent again, within the leeway, through the other replica: the same successor.
    const retried = await refresh(a, first.body.refresh_token)
    assert.equal(retried.status, 200, retried.text)
    assert.equal(retried.body.refresh_token, second.body.refresh_token)

    const reused = await refresh(a, session.refreshToken)

    assert.equal(reused.status, 401)
    assert.equal(reused.body.code, 'refresh_token_reused')
    for (const [name, client] of [['A', a], ['B', b]] as const) {
      const rotated = await refresh(client, second.body.refresh_token)
      assert.equal(rotated.status, 401, `the newest refresh token at ${name}`)
      assert.equal(rotated.body.code, 'invalid_token')
      assert.equal((await me(client, second.body.access_token)).status, 401, `the newest access token at ${name}`)
      assert.equal((await me(client, session.accessToken)).status, 401, `the first access token at ${name}`)
    }
  })

  it('when 20 refreshes of one token race through both replicas, none fails with 5xx and exactly one lineage goes on', async () => {
    const { a, b } = viaBoth()
    const session = await registerAndLogin(a)

    const answers = await Promise.all(Array.from({ length: CONCURRENT_REFRESHES }, (_, n) => refresh(n % 2 === 0 ? a : b, session.refreshToken)))

    for (const res of answers) assert.ok(res.status === 200 || res.status === 401, `status ${res.status}: ${res.text}`)
    const successors = new Set(answers.filter((r) => r.status === 200).map((r) => r.body.refresh_token as string))
    // The first rotation wins; the others present its parent within the leeway and get the same
    // successor (CONTRACT §4), whichever replica answers: one lineage, never a fork.
    assert.equal(successors.size, 1, `${successors.size} different successors were handed out`)
    const [successor] = successors
    const next = await refresh(b, successor!)
    assert.equal(next.status, 200, next.text)
    assert.equal((await refresh(a, next.body.refresh_token)).status, 200, 'the lineage goes on through either replica')
  })
})
