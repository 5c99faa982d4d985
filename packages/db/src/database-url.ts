/**
 * Chooses the PostgreSQL URL of one service from the environment (CONTRACT §1).
 *
 * `<SERVICE>_DATABASE_URL` wins when set; otherwise `DATABASE_URL` names the server and the
 * service gets its own database on it, named after the service; with neither, `undefined` means
 * "use embedded PGlite". Empty strings count as unset, as in `infraUrl`.
 *
 * @example
 * databaseUrlFor('auth', { DATABASE_URL: 'postgres://u@h:5432/postgres' }) // 'postgres://u@h:5432/auth'
 */
export function databaseUrlFor(
  service: string,
  env: { DATABASE_URL?: string; [k: string]: string | undefined },
): string | undefined {
  const own = env[`${service.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DATABASE_URL`]
  if (own) return own
  if (env.DATABASE_URL) return withDatabaseName(env.DATABASE_URL, service)
  return undefined
}

/** Returns `url` with its database (the path) replaced by `name`; credentials and query stay. */
export function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${encodeURIComponent(name)}`
  return parsed.toString()
}

/** The database name a PostgreSQL URL points at; throws when the URL names none. */
export function databaseNameOf(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''))
  if (!name) throw new Error('the database URL names no database (expected postgres://host/<name>)')
  return name
}
