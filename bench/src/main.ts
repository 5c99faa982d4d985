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
import { createLicenseVerifier, keySetFromJwks, verifyLicenseSignature, type Jwks } from '@platform/license-client'
import { verify as cryptoVerify } from 'node:crypto'
import { ARGON2_OPTIONS } from '../../services/auth/src/domain/passwords.ts'
import { startProcess } from './processes.ts'
import { measureAudit } from './audit.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const CONNECTIONS = 20
const LOGIN_CONCURRENCY = 4
const REFRESH_CONCURRENCY = 8
const ACTIVATION_CONCURRENCY = 8
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
// Every database the run creates gets a unique name, and all of them are dropped at the end.
const benchDatabases: string[] = []
const benchDb = (service: string) => {
  if (!databaseUrl) return undefined
  const url = databaseUrl.replace(/\/[^/?]*(\?|$)/, `/${service}_bench_${randomBytes(4).toString('hex')}$1`)
  benchDatabases.push(url)
  return url
}
const authDb = benchDb('auth')
const licenseDb = benchDb('license')
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
    LICENSE_PORT: '0',
    AUDIT_PORT: '0',
    NOTIFICATION_PORT: '0',
    LICENSE_URL: upstreamUrl,
    LOG_LEVEL: 'warn',
    RATE_LIMITS: JSON.stringify(Object.fromEntries(['anonymous', 'authenticated', 'login_ip', 'login_email', 'register_ip'].map((p) => [p, { limit: 10_000_000, window_s: 60 }]))),
    ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_PREFIX: `bench-${randomBytes(4).toString('hex')}:` } : { REDIS_URL: '' }),
    ...(authDb ? { DATABASE_URL: databaseUrl, AUTH_DATABASE_URL: authDb, LICENSE_DATABASE_URL: licenseDb } : { DATABASE_URL: '' }),
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

  // 4. Licensing: online validation through the gateway against the gateway's own throughput on
  // a trivial protected route (row 1); offline verification in license-client against raw
  // node:crypto ES256 verification of the same token; activations racing on one license.
  // A second platform serves the real license service (the first one routes /licenses to the
  // trivial upstream), with limits and abuse detection out of the way.
  log('licensing')
  const licenseDataDir = await mkdtemp(join(tmpdir(), 'platform-bench-license-'))
  const licensed = await startProcess(
    'bench/src/license-platform.ts',
    {
      DATA_DIR: licenseDataDir,
      GATEWAY_PORT: '0',
      GATEWAY_HTTP_PORT: '0',
      GATEWAY_ADMIN_PORT: '0',
      AUTH_PORT: '0',
      LICENSE_PORT: '0',
      AUDIT_PORT: '0',
      NOTIFICATION_PORT: '0',
      LOG_LEVEL: 'warn',
      RATE_LIMITS: JSON.stringify(
        Object.fromEntries(
          ['anonymous', 'authenticated', 'login_ip', 'login_email', 'register_ip', 'license_activate_ip', 'license_activate_key', 'license_generate'].map((p) => [p, { limit: 10_000_000, window_s: 60 }]),
        ),
      ),
      LICENSE_ABUSE: JSON.stringify({ fingerprints: 1_000_000, window_s: 60 }),
      ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_PREFIX: `bench-${randomBytes(4).toString('hex')}:` } : { REDIS_URL: '' }),
      ...(databaseUrl ? { DATABASE_URL: databaseUrl, AUTH_DATABASE_URL: benchDb('auth'), LICENSE_DATABASE_URL: benchDb('license') } : { DATABASE_URL: '' }),
    },
    /Gateway\s+(https:\/\/\S+) admin (\S+) (\S+)/,
  )
  try {
    const licensedUrl = licensed.match[1]!
    const lca = await readFile(join(licenseDataDir, 'tls', 'ca.pem'))
    const lclient = createTestClient(licensedUrl, { caPath: join(licenseDataDir, 'tls', 'ca.pem') })
    const adminLogin = await lclient.request('POST', '/auth/login', { json: { email: licensed.match[2], password: licensed.match[3]!.replaceAll('+', ' ') } })
    if (adminLogin.status !== 200) throw new Error(`admin login failed: ${adminLogin.text}`)
    const adminToken = adminLogin.body.access_token as string
    const issue = async (maxMachines: number) => {
      const res = await lclient.request('POST', '/licenses', { token: adminToken, json: { product: 'bench', max_machines: maxMachines, entitlements: ['pro'] } })
      if (res.status !== 201) throw new Error(`issue failed: ${res.text}`)
      return res.body.key as string
    }
    const key = await issue(1)
    const fingerprint = `bench-machine-${randomBytes(8).toString('hex')}`
    const activation = await lclient.request('POST', '/licenses/activate', { json: { key, fingerprint } })
    if (activation.status !== 201) throw new Error(`activate failed: ${activation.text}`)
    const licenseToken = activation.body.license_token as string

    const validateOpts = {
      url: `${licensedUrl}/licenses/validate`,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key, fingerprint }),
      ca: lca,
    }
    await load({ ...validateOpts, duration: 2 })
    const validations = await load(validateOpts)
    rows.push({ figure: 'online validations/s through the gateway', value: validations.requests.average.toFixed(0), baseline: `${gw.requests.average.toFixed(0)} gateway req/s (row 1)`, ratio: validations.requests.average / gw.requests.average, target: '≥ 0.6' })

    const jwks = (await lclient.request('GET', '/licenses/.well-known/jwks.json')).body as Jwks
    const verifier = createLicenseVerifier({ jwks, product: 'bench' })
    const [headerPart, payloadPart, signaturePart] = licenseToken.split('.') as [string, string, string]
    const kid = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')).kid as string
    const rawKey = keySetFromJwks(jwks).get(kid)!
    const signature = Buffer.from(signaturePart, 'base64url')
    const signedBytes = `${headerPart}.${payloadPart}`
    verifyLicenseSignature(licenseToken, keySetFromJwks(jwks))
    const rate = (fn: () => boolean) => {
      const started = performance.now()
      let n = 0
      while (performance.now() - started < SECONDS * 500) {
        for (let i = 0; i < 100; i++) if (!fn()) throw new Error('verification failed during the benchmark')
        n += 100
      }
      return n / ((performance.now() - started) / 1000)
    }
    rate(() => cryptoVerify('sha256', Buffer.from(signedBytes), { key: rawKey, dsaEncoding: 'ieee-p1363' }, signature))
    const rawRate = rate(() => cryptoVerify('sha256', Buffer.from(signedBytes), { key: rawKey, dsaEncoding: 'ieee-p1363' }, signature))
    const offlineRate = rate(() => verifier.check(licenseToken, fingerprint).ok)
    rows.push({ figure: 'offline verifications/s (license-client)', value: offlineRate.toFixed(0), baseline: `${rawRate.toFixed(0)} raw ES256 verify/s (node:crypto)`, ratio: offlineRate / rawRate, target: '≥ 0.8' })

    // Each worker activates a new machine on the shared license; when its 1000 slots are full,
    // the worker that sees 409 first puts a fresh license in its place.
    let shared = { key: await issue(1000) }
    let activations = 0
    const activationStart = performance.now()
    await Promise.all(
      Array.from({ length: ACTIVATION_CONCURRENCY }, async () => {
        while (performance.now() - activationStart < SECONDS * 1000) {
          const current = shared
          const answer = await lclient.request('POST', '/licenses/activate', { json: { key: current.key, fingerprint: `m-${randomBytes(8).toString('hex')}` } })
          if (answer.status === 201) activations++
          else if (answer.status === 409) {
            if (shared === current) shared = { key: await issue(1000) }
          } else throw new Error(`activate failed: ${answer.status} ${answer.text}`)
        }
      }),
    )
    const activationRate = activations / ((performance.now() - activationStart) / 1000)
    rows.push({ figure: `activations/s on one license (concurrency ${ACTIVATION_CONCURRENCY})`, value: activationRate.toFixed(0), baseline: 'serialized by the license row lock', ratio: null, target: '' })
    await lclient.close()
  } finally {
    await licensed.stop()
    await rm(licenseDataDir, { recursive: true, force: true })
  }

  // Audit (bench/src/audit.ts): end to end through an outbox, the broker and the consumer; its
  // parts apart; commit → stored latency; against a raw batched insert of the same rows.
  rows.push(...(await measureAudit({ seconds: SECONDS, log })))
} finally {
  await Promise.all([platform.stop(), baseline.stop(), upstream.stop()])
  for (const url of benchDatabases) {
    const admin = new pg.Client({ connectionString: databaseUrl })
    await admin.connect()
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(new URL(url).pathname.slice(1))} WITH (FORCE)`)
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
