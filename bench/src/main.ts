// `npm run bench`: each figure next to a baseline measured in the same run on the same machine.
// Servers run in child processes; the load comes from this one.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir, cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import autocannon from 'autocannon'
import argon2 from 'argon2'
import pg from 'pg'
import { createTestClient } from '@platform/testkit'
import { ARGON2_OPTIONS } from '../../services/auth/src/domain/passwords.ts'
import { startProcess } from './processes.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const CONNECTIONS = 20
const LOGIN_CONCURRENCY = 4
const REFRESH_CONCURRENCY = 8
const redisUrl = process.env.REDIS_URL
const databaseUrl = process.env.DATABASE_URL

type Row = { figure: string; value: string; baseline: string; ratio: number | null; target: string }
const rows: Row[] = []
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)

async function load(opts: autocannon.Options & { ca: Buffer }) {
  const { ca, ...rest } = opts
  const result = await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...rest, tlsOptions: { ca } } as autocannon.Options)
  if (result.non2xx || result.errors) throw new Error(`${opts.url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result
}

const dataDir = await mkdtemp(join(tmpdir(), 'platform-bench-'))
const authDb = databaseUrl ? databaseUrl.replace(/\/[^/?]*(\?|$)/, `/auth_bench_${randomBytes(4).toString('hex')}$1`) : undefined
const upstream = await startProcess('bench/src/upstream.ts', {})
const upstreamUrl = `http://127.0.0.1:${upstream.match[1]}`
const platform = await startProcess(
  'launcher/src/main.ts',
  {
    DATA_DIR: dataDir,
    GATEWAY_PORT: '0',
    GATEWAY_HTTP_PORT: '0',
    GATEWAY_ADMIN_PORT: '0',
    AUTH_PORT: '0',
    LICENSE_URL: upstreamUrl,
    LOG_LEVEL: 'warn',
    RATE_LIMITS: JSON.stringify(Object.fromEntries(['anonymous', 'authenticated', 'login_ip', 'login_email', 'register_ip'].map((p) => [p, { limit: 10_000_000, window_s: 60 }]))),
    ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_PREFIX: `bench-${randomBytes(4).toString('hex')}:` } : { REDIS_URL: '' }),
    ...(authDb ? { DATABASE_URL: databaseUrl, AUTH_DATABASE_URL: authDb } : { DATABASE_URL: '' }),
  },
  /Gateway\s+(https:\/\/\S+)/,
)
const gatewayUrl = platform.match[1]!
const ca = await readFile(join(dataDir, 'tls', 'ca.pem'))
const baseline = await startProcess('bench/src/baseline-proxy.ts', {
  UPSTREAM_URL: upstreamUrl,
  CERT: join(dataDir, 'tls', 'cert.pem'),
  KEY: join(dataDir, 'tls', 'key.pem'),
})
const baselineUrl = `https://localhost:${baseline.match[1]}`
log(`gateway ${gatewayUrl}, baseline ${baselineUrl}, store ${redisUrl ? 'Redis' : 'in-process'}, database ${databaseUrl ? 'PostgreSQL' : 'PGlite'}`)

try {
  const client = createTestClient(gatewayUrl, { caPath: join(dataDir, 'tls', 'ca.pem') })
  const password = 'bench password 12345'
  const newUser = async () => {
    const email = `bench-${randomBytes(5).toString('hex')}@example.com`
    await client.request('POST', '/auth/register', { json: { email, password } })
    const login = await client.request('POST', '/auth/login', { json: { email, password } })
    if (login.status !== 200) throw new Error(`login failed: ${login.text}`)
    return { email, access: login.body.access_token as string, refresh: login.body.refresh_token as string }
  }
  const user = await newUser()

  // 1. Gateway overhead on a protected route.
  log('gateway overhead')
  const protectedOpts = { url: `${gatewayUrl}/licenses/ping`, headers: { authorization: `Bearer ${user.access}` }, ca }
  await load({ ...protectedOpts, duration: 2 })
  await load({ url: `${baselineUrl}/licenses/ping`, ca, duration: 2 })
  const base = await load({ url: `${baselineUrl}/licenses/ping`, ca })
  const gw = await load(protectedOpts)
  rows.push({ figure: 'gateway req/s (protected route)', value: gw.requests.average.toFixed(0), baseline: base.requests.average.toFixed(0), ratio: gw.requests.average / base.requests.average, target: '≥ 0.75' })
  rows.push({ figure: 'gateway p50 / p99 ms at full load', value: `${gw.latency.p50} / ${gw.latency.p99}`, baseline: `${base.latency.p50} / ${base.latency.p99}`, ratio: null, target: '' })
  const halfRate = Math.max(10, Math.floor(base.requests.average / 2))
  const baseHalf = await load({ url: `${baselineUrl}/licenses/ping`, ca, overallRate: halfRate })
  const gwHalf = await load({ ...protectedOpts, overallRate: halfRate })
  rows.push({
    figure: `added p99 ms at half load (${halfRate} req/s)`,
    value: String(gwHalf.latency.p99),
    baseline: String(baseHalf.latency.p99),
    ratio: null,
    target: `≤ 2 ms added (measured ${(gwHalf.latency.p99 - baseHalf.latency.p99).toFixed(1)})`,
  })

  // 2. Login against raw argon2id hashing at the same concurrency.
  log('login')
  const hashStart = performance.now()
  let hashes = 0
  await Promise.all(
    Array.from({ length: LOGIN_CONCURRENCY }, async () => {
      while (performance.now() - hashStart < SECONDS * 1000) {
        await argon2.hash(password, ARGON2_OPTIONS)
        hashes++
      }
    }),
  )
  const hashRate = hashes / ((performance.now() - hashStart) / 1000)
  const logins = await load({
    url: `${gatewayUrl}/auth/login`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: user.email, password }),
    connections: LOGIN_CONCURRENCY,
    ca,
  })
  rows.push({ figure: `logins/s (concurrency ${LOGIN_CONCURRENCY})`, value: logins.requests.average.toFixed(1), baseline: `${hashRate.toFixed(1)} argon2id hashes/s`, ratio: logins.requests.average / hashRate, target: '≥ 0.9' })

  // 3. Refresh rotations against raw single-row PostgreSQL transactions.
  log('refresh')
  const sessions = await Promise.all(Array.from({ length: REFRESH_CONCURRENCY }, () => newUser()))
  const refreshStart = performance.now()
  let rotations = 0
  await Promise.all(
    sessions.map(async (session) => {
      let token = session.refresh
      while (performance.now() - refreshStart < SECONDS * 1000) {
        const answer = await client.request('POST', '/auth/refresh', { json: { refresh_token: token } })
        if (answer.status !== 200) throw new Error(`refresh failed: ${answer.text}`)
        token = answer.body.refresh_token
        rotations++
      }
    }),
  )
  const rotationRate = rotations / ((performance.now() - refreshStart) / 1000)
  let txRate: number | null = null
  if (databaseUrl) {
    const pool = new pg.Pool({ connectionString: authDb, max: REFRESH_CONCURRENCY })
    await pool.query('CREATE TABLE IF NOT EXISTS bench_tx (id bigserial PRIMARY KEY, value text NOT NULL)')
    const txStart = performance.now()
    let txs = 0
    await Promise.all(
      Array.from({ length: REFRESH_CONCURRENCY }, async () => {
        const conn = await pool.connect()
        while (performance.now() - txStart < SECONDS * 1000) {
          await conn.query('BEGIN')
          await conn.query('INSERT INTO bench_tx (value) VALUES ($1)', [randomBytes(16).toString('hex')])
          await conn.query('COMMIT')
          txs++
        }
        conn.release()
      }),
    )
    txRate = txs / ((performance.now() - txStart) / 1000)
    await pool.end()
  }
  rows.push({
    figure: `refresh rotations/s (concurrency ${REFRESH_CONCURRENCY})`,
    value: rotationRate.toFixed(0),
    baseline: txRate === null ? 'n/a (set DATABASE_URL)' : `${txRate.toFixed(0)} single-row tx/s`,
    ratio: txRate === null ? null : rotationRate / txRate,
    target: '≥ 0.5',
  })
  await client.close()
} finally {
  await Promise.all([platform.stop(), baseline.stop(), upstream.stop()])
  if (authDb) {
    const admin = new pg.Client({ connectionString: databaseUrl })
    await admin.connect()
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(new URL(authDb).pathname.slice(1))} WITH (FORCE)`)
    await admin.end()
  }
  await rm(dataDir, { recursive: true, force: true })
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`
const table = [
  `| figure | measured | baseline (same run) | ratio | target |`,
  `| --- | --- | --- | --- | --- |`,
  ...rows.map((r) => `| ${r.figure} | ${r.value} | ${r.baseline} | ${r.ratio === null ? '' : r.ratio.toFixed(2)} | ${r.target} |`),
].join('\n')
process.stdout.write(`\n${machine}; store ${redisUrl ? 'Redis' : 'in-process'}, database ${databaseUrl ? 'PostgreSQL' : 'PGlite'}\n\n${table}\n`)
await mkdir(new URL('../results/', import.meta.url), { recursive: true })
await writeFile(new URL('../results/latest.json', import.meta.url), `${JSON.stringify({ taken_at: new Date().toISOString(), machine, seconds: SECONDS, rows }, null, 2)}\n`)
