// The refresh figure of `npm run bench` (issues 2 and 4): refresh-token rotations per second —
// each the auth service's rotation as its HTTP handler runs it (one PostgreSQL statement that
// locks the session, spends the token, stores the successor and reads the not-before instants,
// then an ES256 signature) — against the same run's raw single-row PostgreSQL transactions
// (BEGIN, INSERT, COMMIT) at the same concurrency on the same server. In process, so neither
// figure pays for HTTP; the gateway's own cost is row 1.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { startAuth } from '@platform/auth/start'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { measureRawTxRate, ratePerSecond } from './raw-postgres.ts'
import { login } from '../../services/auth/src/domain/login.ts'
import { refreshTokens } from '../../services/auth/src/domain/refresh.ts'
import { registerUser } from '../../services/auth/src/domain/register.ts'

export type RefreshBenchRow = { figure: string; value: string; baseline: string; ratio: number | null; target: string }

const CONCURRENCY = 8
const PASSWORD = 'bench password 12345'

/** Rotations/s and raw single-row tx/s; without DATABASE_URL there is no raw baseline to compare with. */
export async function measureRefresh(opts: { seconds: number; log: (msg: string) => void }): Promise<RefreshBenchRow> {
  const databaseUrl = process.env.DATABASE_URL || undefined
  const dataDir = await mkdtemp(join(tmpdir(), 'platform-bench-refresh-'))
  const authDb = databaseUrl ? uniqueDatabaseUrl(databaseUrl, 'auth_bench') : undefined
  const auth = await startAuth({
    env: {
      DATA_DIR: dataDir,
      AUTH_PORT: '0',
      LOG_LEVEL: 'warn',
      ...(authDb ? { AUTH_DATABASE_URL: authDb, DATABASE_URL: databaseUrl } : {}),
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REDIS_PREFIX: `bench-${randomBytes(4).toString('hex')}:` } : {}),
    },
  })
  try {
    opts.log(`refresh: ${CONCURRENCY} sessions rotating for ${opts.seconds} s`)
    const tokens = await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, i) => {
        const email = `bench-refresh-${i}-${randomBytes(4).toString('hex')}@example.com`
        await registerUser(auth.deps, { email, password: PASSWORD })
        const session = await login(auth.deps, { email, password: PASSWORD, ip: '127.0.0.1', userAgent: null, ipHint: null })
        return session.tokens.refreshToken
      }),
    )
    const rotationRate = await ratePerSecond(opts.seconds, tokens, async (token) => (await refreshTokens(auth.deps, token)).refreshToken)
    if (!authDb) return { figure: `refresh rotations/s (concurrency ${CONCURRENCY})`, value: rotationRate.toFixed(0), baseline: 'n/a (set DATABASE_URL)', ratio: null, target: '≥ 0.5' }

    opts.log('refresh: raw single-row transactions')
    const txRate = await measureRawTxRate({ databaseUrl: authDb, seconds: opts.seconds, concurrency: CONCURRENCY })
    return {
      figure: `refresh rotations/s (concurrency ${CONCURRENCY})`,
      value: rotationRate.toFixed(0),
      baseline: `${txRate.toFixed(0)} single-row tx/s`,
      ratio: rotationRate / txRate,
      target: '≥ 0.5',
    }
  } finally {
    await auth.stop()
    if (authDb) await dropDatabase(authDb).catch(() => undefined)
    await rm(dataDir, { recursive: true, force: true })
  }
}
