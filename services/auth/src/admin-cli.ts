import { parseArgs } from 'node:util'
import { text } from 'node:stream/consumers'
import { z } from 'zod'
import { ROLES, type Role } from '@platform/contracts'
import { databaseUrlFor, openDatabase } from '@platform/db'
import { createMemoryKv, createRedisKv } from '@platform/kv'
import { AppError, ConfigError, createLogger, ValidationError } from '@platform/platform'
import { loadAuthConfig } from './config.ts'
import { setUserRoles } from './domain/admin-users.ts'
import { registerUser } from './domain/register.ts'
import { createRevocationList } from './domain/revocation-list.ts'
import { emailSchema } from './http/schemas.ts'
import { authMigrations } from './store/migrations/index.ts'
import type { AuthDatabase } from './store/schema.ts'
import { findUserByEmail, type User } from './store/users.ts'

export const USAGE = `usage:
  npm run admin -- create-user --email <e-mail> (--password <password> | --password-stdin) [--roles user,reseller,admin]
  npm run admin -- set-roles --email <e-mail> --roles user,reseller,admin

Works on the auth database of DATABASE_URL / AUTH_DATABASE_URL, or the PGlite one under DATA_DIR
(stop \`npm start\` first: an embedded database has one user at a time).`

/** A mistake in how the command was called: usage to stderr, exit 2. */
export class UsageError extends Error {}

const rolesSchema = z
  .string()
  .transform((value) => value.split(',').map((role) => role.trim()).filter(Boolean))
  .pipe(z.array(z.enum(ROLES, { message: `roles are ${ROLES.join(', ')}` })).min(1, { message: 'name at least one role' }))

function parseRoles(value: string | undefined, fallback?: Role[]): Role[] {
  if (value === undefined) {
    if (fallback) return fallback
    throw new UsageError('--roles is required')
  }
  const parsed = rolesSchema.safeParse(value)
  if (!parsed.success) throw new UsageError(`--roles: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  return [...new Set(parsed.data)]
}

function parseEmail(value: string | undefined): string {
  if (value === undefined) throw new UsageError('--email is required')
  const parsed = emailSchema.safeParse(value)
  if (!parsed.success) throw new UsageError('--email: expected an e-mail address')
  return parsed.data
}

const userLine = (user: User) =>
  JSON.stringify({ id: user.id, email: user.email, roles: user.roles, disabled: user.disabled, created_at: user.createdAt.toISOString() })

/**
 * `npm run admin -- <command>`: user administration without the HTTP API, for the first admin
 * of an installation or when nobody can log in. Prints the user as one JSON line.
 */
export async function runAdminCli(argv: readonly string[], env: NodeJS.ProcessEnv, stdin: NodeJS.ReadableStream): Promise<string> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      roles: { type: 'string' },
    },
  })
  const [command, ...extra] = positionals
  if (!command || extra.length > 0 || !['create-user', 'set-roles'].includes(command)) throw new UsageError('expected one command: create-user or set-roles')
  const email = parseEmail(values.email)
  const roles = parseRoles(values.roles, command === 'create-user' ? ['user'] : undefined)
  let password: string | undefined
  if (command === 'create-user') {
    if ((values.password === undefined) === !values['password-stdin']) throw new UsageError('give exactly one of --password and --password-stdin')
    // A password on the command line lands in shell history and `ps`; stdin does not.
    password = values.password ?? (await text(stdin)).replace(/\r?\n$/, '')
  }

  const config = loadAuthConfig(env)
  const log = createLogger('auth-cli', { level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL })
  const database = await openDatabase<AuthDatabase>({ service: 'auth', url: databaseUrlFor('auth', env), dataDir: config.DATA_DIR, migrations: authMigrations })
  // With Redis the revocation reaches it at once; otherwise the running service's sync copies
  // it from PostgreSQL (it re-pushes recent revocations every half second, and all at start).
  const kv = config.REDIS_URL ? createRedisKv({ url: config.REDIS_URL, prefix: config.REDIS_PREFIX }) : createMemoryKv()
  try {
    if (command === 'create-user') {
      const user = await registerUser({ db: database.db }, { email, password: password!, roles })
      return userLine(user)
    }
    const user = await findUserByEmail(database.db, email)
    if (!user) throw new AppError('user_not_found', `no user has the e-mail ${email}`)
    const revocations = createRevocationList({ db: database.db, kv, log })
    const updated = await setUserRoles({ db: database.db, revocations, log, tokens: { accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL } }, user.id, roles)
    return userLine(updated)
  } finally {
    await kv.close()
    await database.close()
  }
}

/** One line for a failure a person can act on; anything else keeps its stack. */
export function describeFailure(error: unknown): string {
  if (error instanceof ValidationError) return error.errors.map((e) => `${e.path.replace(/^\//, '') || 'input'} ${e.message}`).join('; ')
  if (error instanceof AppError) return `${error.code}: ${error.message}`
  if (error instanceof ConfigError) return `invalid configuration: ${error.message}`
  return error instanceof Error ? (error.stack ?? error.message) : String(error)
}

/** Whether `error` is a mistake in the command line (exit 2) rather than a failure (exit 1). */
export function isUsageError(error: unknown): boolean {
  return error instanceof UsageError || String((error as { code?: unknown } | null)?.code ?? '').startsWith('ERR_PARSE_ARGS')
}
