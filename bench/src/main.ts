// `npm run bench`: each figure next to a baseline measured in the same run on the same machine.
// Servers run in child processes, each on its own event loop as in a deployment: the services
// (auth, license, audit, notification, payments in one process), a license replica alone, the
// gateway alone, the baseline proxy alone and a trivial upstream. The load comes from this process.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir, cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { randomBytes, verify as cryptoVerify } from 'node:crypto'
import autocannon from 'autocannon'
import argon2 from 'argon2'
import { DEFAULT_POLICIES } from '@platform/gateway'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { createTestClient } from '@platform/testkit'
import { createLicenseVerifier, keySetFromJwks, verifyLicenseSignature, type Jwks } from '@platform/license-client'
import { ARGON2_OPTIONS } from '../../services/auth/src/domain/passwords.ts'
import { cpuPerOperation, cpuSnapshot } from './cpu.ts'
import { startProcess } from './processes.ts'
import { measureAudit } from './audit.ts'
import { measureRefresh } from './refresh.ts'
import { measurePayments } from './payments.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const CONNECTIONS = 20
const LOGIN_CONCURRENCY = 4
const ACTIVATION_CONCURRENCY = 8
const redisUrl = process.env.REDIS_URL
const databaseUrl = process.env.DATABASE_URL

type Row = { figure: string; value: string; baseline: string; ratio: number | null; target: string }
const rows: Row[] = []
/** CPU milliseconds per operation of each process, for the HTTP figures (bench/src/cpu.ts). */
const cpuRows: { operation: string; ms: Record<string, number> }[] = []
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)

async function load(opts: autocannon.Options & { ca: Buffer }) {
  const { ca, ...rest } = opts
  const result = await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...rest, tlsOptions: { ca } } as autocannon.Options)
  if (result.non2xx || result.errors) throw new Error(`${opts.url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  return result
}

const dataDir = await mkdtemp(join(tmpdir(), 'platform-bench-'))
// Every database the run creates gets a unique name, and all of them are dropped at the end.
const benchDatabases = databaseUrl ? Object.fromEntries(['auth', 'license', 'payments', 'audit', 'notification'].map((s) => [`${s.toUpperCase()}_DATABASE_URL`, uniqueDatabaseUrl(databaseUrl, `${s}_bench`)])) : {}
// What every process of the run shares: data dir (one dev CA), store, database, broker, no limits in the way.
const sharedEnv: NodeJS.ProcessEnv = {
  DATA_DIR: dataDir,
  LOG_LEVEL: 'warn',
  RATE_LIMITS: JSON.stringify(Object.fromEntries(Object.keys(DEFAULT_POLICIES).map((name) => [name, { limit: 10_000_000, window_s: 60 }]))),
  LICENSE_ABUSE: JSON.stringify({ fingerprints: 1_000_000, window_s: 60 }),
  ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_PREFIX: `bench-${randomBytes(4).toString('hex')}:` } : { REDIS_URL: '' }),
  // The run's own queues and exchanges on a shared broker (bench/src/platform.ts deletes them).
  ...(process.env.AMQP_URL ? { AMQP_PREFIX: `bench-${randomBytes(4).toString('hex')}.` } : {}),
  ...(databaseUrl ? { DATABASE_URL: databaseUrl, ...benchDatabases } : { DATABASE_URL: '' }),
}
const upstream = await startProcess('bench/src/upstream.ts', {})
const upstreamUrl = `http://127.0.0.1:${upstream.match[1]}`
const services = await startProcess(
  'bench/src/platform.ts',
  { ...sharedEnv, GATEWAY_PORT: '0', GATEWAY_HTTP_PORT: '0', GATEWAY_ADMIN_PORT: '0', AUTH_PORT: '0', LICENSE_PORT: '0', PAYMENTS_PORT: '0', AUDIT_PORT: '0', NOTIFICATION_PORT: '0' },
  /services auth (\S+) license (\S+) admin (\S+) (\S+)/,
)
const [, authUrl, , adminEmail, adminPassword] = services.match as unknown as string[]
// The license service the licensing figures go through runs alone in its process, as deployed:
// a second replica beside the one in the services' process (same database, store and secrets).
const license = await startProcess('services/license/src/main.ts', { ...sharedEnv, LOG_LEVEL: 'info', LICENSE_PORT: '0', AUTH_URL: authUrl }, /"port":(\d+)[^\n]*license ready/)
const licenseUrl = `http://127.0.0.1:${license.match[1]}`
// The gateway under test, alone in its process. `/notifications` leads to the trivial upstream:
// that is the protected route of row 1; `/auth` and `/licenses` lead to the real services.
const gateway = await startProcess(
  'gateway/src/main.ts',
  { ...sharedEnv, LOG_LEVEL: 'info', GATEWAY_PORT: '0', GATEWAY_HTTP_PORT: '0', GATEWAY_ADMIN_PORT: '0', AUTH_URL: authUrl, LICENSE_URL: licenseUrl, NOTIFICATION_URL: upstreamUrl },
  /"port":(\d+)[^\n]*gateway ready/,
)
const gatewayUrl = `https://localhost:${gateway.match[1]}`
const caPath = join(dataDir, 'tls', 'ca.pem')
const ca = await readFile(caPath)
const baseline = await startProcess('bench/src/baseline-proxy.ts', { UPSTREAM_URL: upstreamUrl, CERT: join(dataDir, 'tls', 'cert.pem'), KEY: join(dataDir, 'tls', 'key.pem') })
const baselineUrl = `https://localhost:${baseline.match[1]}`
const serverProcesses = { gateway: gateway.child.pid, services: services.child.pid, 'license replica': license.child.pid, 'baseline proxy': baseline.child.pid, upstream: upstream.child.pid }

/** Runs `measure` and records the CPU each process spent per operation meanwhile. */
async function counted<T>(operation: string, measure: () => Promise<T>, operations: (result: T) => number): Promise<T> {
  const before = cpuSnapshot(serverProcesses)
  const result = await measure()
  const ms = cpuPerOperation(before, cpuSnapshot(serverProcesses), operations(result))
  if (ms) cpuRows.push({ operation, ms })
  return result
}
const requestsOf = (result: autocannon.Result) => result.requests.total
log(`gateway ${gatewayUrl}, baseline ${baselineUrl}, store ${redisUrl ? 'Redis' : 'in-process'}, database ${databaseUrl ? 'PostgreSQL' : 'PGlite'}`)

try {
  const client = createTestClient(gatewayUrl, { caPath })
  const password = 'bench password 12345'
  const email = `bench-${randomBytes(5).toString('hex')}@example.com`
  await client.request('POST', '/auth/register', { json: { email, password } })
  const login = await client.request('POST', '/auth/login', { json: { email, password } })
  if (login.status !== 200) throw new Error(`login failed: ${login.text}`)
  const accessToken = login.body.access_token as string

  // 1. Gateway overhead on a protected route.
  log('gateway overhead')
  const protectedOpts = { url: `${gatewayUrl}/notifications/ping`, headers: { authorization: `Bearer ${accessToken}` }, ca }
  const baselineOpts = { url: `${baselineUrl}/notifications/ping`, ca }
  await load({ ...protectedOpts, duration: 2 })
  await load({ ...baselineOpts, duration: 2 })
  const base = await counted('request through the baseline proxy (row 1)', () => load(baselineOpts), requestsOf)
  const gw = await counted('protected request through the gateway (row 1)', () => load(protectedOpts), requestsOf)
  rows.push({ figure: 'gateway req/s (protected route)', value: gw.requests.average.toFixed(0), baseline: base.requests.average.toFixed(0), ratio: gw.requests.average / base.requests.average, target: '≥ 0.75' })
  rows.push({ figure: 'gateway p50 / p99 ms at full load', value: `${gw.latency.p50} / ${gw.latency.p99}`, baseline: `${base.latency.p50} / ${base.latency.p99}`, ratio: null, target: '' })
  const halfRate = Math.max(10, Math.floor(base.requests.average / 2))
  const baseHalf = await load({ ...baselineOpts, overallRate: halfRate })
  const gwHalf = await load({ ...protectedOpts, overallRate: halfRate })
  rows.push({
    figure: `added p99 ms at half load (${halfRate} req/s)`,
    value: String(gwHalf.latency.p99),
    baseline: String(baseHalf.latency.p99),
    ratio: null,
    target: `≤ 2 ms added (measured ${(gwHalf.latency.p99 - baseHalf.latency.p99).toFixed(1)})`,
  })

  // 2. Login through the gateway against raw argon2id hashing at the same concurrency.
  log('login')
  const hashStart = performance.now()
  const hashes = await counted(
    'raw argon2id hash (row 2 baseline)',
    async () => {
      let done = 0
      await Promise.all(
        Array.from({ length: LOGIN_CONCURRENCY }, async () => {
          while (performance.now() - hashStart < SECONDS * 1000) {
            await argon2.hash(password, ARGON2_OPTIONS)
            done++
          }
        }),
      )
      return done
    },
    (done) => done,
  )
  const hashRate = hashes / ((performance.now() - hashStart) / 1000)
  const logins = await counted(
    'login through the gateway (row 2)',
    () =>
      load({
        url: `${gatewayUrl}/auth/login`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
        connections: LOGIN_CONCURRENCY,
        ca,
      }),
    requestsOf,
  )
  rows.push({ figure: `logins/s (concurrency ${LOGIN_CONCURRENCY})`, value: logins.requests.average.toFixed(1), baseline: `${hashRate.toFixed(1)} argon2id hashes/s`, ratio: logins.requests.average / hashRate, target: '≥ 0.9' })

  // 3. Licensing: online validation through the gateway against the gateway's own throughput on
  // the trivial protected route (row 1); offline verification in license-client against raw
  // node:crypto ES256 verification of the same token; activations racing on one license.
  log('licensing')
  const adminLogin = await client.request('POST', '/auth/login', { json: { email: adminEmail, password: adminPassword!.replaceAll('+', ' ') } })
  if (adminLogin.status !== 200) throw new Error(`admin login failed: ${adminLogin.text}`)
  const adminToken = adminLogin.body.access_token as string
  const issue = async (maxMachines: number) => {
    const res = await client.request('POST', '/licenses', { token: adminToken, json: { product: 'bench', max_machines: maxMachines, entitlements: ['pro'] } })
    if (res.status !== 201) throw new Error(`issue failed: ${res.text}`)
    return res.body.key as string
  }
  const key = await issue(1)
  const fingerprint = `bench-machine-${randomBytes(8).toString('hex')}`
  const activation = await client.request('POST', '/licenses/activate', { json: { key, fingerprint } })
  if (activation.status !== 201) throw new Error(`activate failed: ${activation.text}`)
  const licenseToken = activation.body.license_token as string

  const validateOpts = { url: `${gatewayUrl}/licenses/validate`, method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key, fingerprint }), ca }
  await load({ ...validateOpts, duration: 2 })
  const validations = await counted('online validation through the gateway', () => load(validateOpts), requestsOf)
  rows.push({ figure: 'online validations/s through the gateway', value: validations.requests.average.toFixed(0), baseline: `${gw.requests.average.toFixed(0)} gateway req/s (row 1)`, ratio: validations.requests.average / gw.requests.average, target: '≥ 0.6' })

  const jwks = (await client.request('GET', '/licenses/.well-known/jwks.json')).body as Jwks
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
        const answer = await client.request('POST', '/licenses/activate', { json: { key: current.key, fingerprint: `m-${randomBytes(8).toString('hex')}` } })
        if (answer.status === 201) activations++
        else if (answer.status === 409) {
          if (shared === current) shared = { key: await issue(1000) }
        } else throw new Error(`activate failed: ${answer.status} ${answer.text}`)
      }
    }),
  )
  const activationRate = activations / ((performance.now() - activationStart) / 1000)
  rows.push({ figure: `activations/s on one license (concurrency ${ACTIVATION_CONCURRENCY})`, value: activationRate.toFixed(0), baseline: 'serialized by the license row lock', ratio: null, target: '' })
  await client.close()
} finally {
  await Promise.all([gateway.stop(), baseline.stop(), upstream.stop()])
  await license.stop()
  await services.stop()
}

try {
  // 4. Refresh rotations in the auth service against raw single-row transactions (bench/src/refresh.ts).
  rows.push(await measureRefresh({ seconds: SECONDS, log }))
  // 5. Payments (bench/src/payments.ts): verified webhooks end to end against raw single-row transactions.
  rows.push(...(await measurePayments({ seconds: SECONDS, log })))
  // 6. Audit (bench/src/audit.ts): end to end through an outbox, the broker and the consumer; its
  // parts apart; commit → stored latency; against a raw batched insert of the same rows.
  rows.push(...(await measureAudit({ seconds: SECONDS, log })))
} finally {
  for (const url of Object.values(benchDatabases)) await dropDatabase(url!).catch(() => undefined)
  await rm(dataDir, { recursive: true, force: true })
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`
const table = [
  `| figure | measured | baseline (same run) | ratio | target |`,
  `| --- | --- | --- | --- | --- |`,
  ...rows.map((r) => `| ${r.figure} | ${r.value} | ${r.baseline} | ${r.ratio === null ? '' : r.ratio.toFixed(2)} | ${r.target} |`),
].join('\n')
// Columns in the order a request meets them; a part no row used (to the shown 0.01 ms) is left out.
const shown = (ms: number | undefined): ms is number => (ms ?? 0) >= 0.005
const parts = ['load generator', 'gateway', 'baseline proxy', 'upstream', 'services', 'license replica', 'PostgreSQL', 'Redis', 'RabbitMQ'].filter((part) =>
  cpuRows.some((r) => shown(r.ms[part])),
)
const cpuTable = cpuRows.length
  ? [
      `CPU ms per operation, by process (/proc; "services" is auth, license, payments, audit and notification in one process):`,
      '',
      `| operation | ${parts.join(' | ')} |`,
      `| --- |${parts.map(() => ' --- |').join('')}`,
      ...cpuRows.map((r) => `| ${r.operation} | ${parts.map((part) => { const ms = r.ms[part]; return shown(ms) ? ms.toFixed(2) : '' }).join(' | ')} |`),
    ].join('\n')
  : ''
process.stdout.write(`\n${machine}; store ${redisUrl ? 'Redis' : 'in-process'}, database ${databaseUrl ? 'PostgreSQL' : 'PGlite'}\n\n${table}\n${cpuTable ? `\n${cpuTable}\n` : ''}`)
await mkdir(new URL('../results/', import.meta.url), { recursive: true })
await writeFile(new URL('../results/latest.json', import.meta.url), `${JSON.stringify({ taken_at: new Date().toISOString(), machine, seconds: SECONDS, rows, cpu_ms_per_operation: cpuRows }, null, 2)}\n`)
