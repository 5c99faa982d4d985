import type { z } from 'zod'

/** A setting that failed its schema; the message is one line naming the variable. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** Variables whose values must never be echoed, not even in a start-up error (CONTRACT §1). */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN_SECRET|(^|_)KEY($|_)|CLIENTS/

/** A bad value as the error shows it: shortened, and without credentials in a URL's userinfo. */
function shown(raw: string): string {
  const value = raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1***@')
  return value.length > 40 ? `${value.slice(0, 40)}…` : value
}

/**
 * Parses the environment with a zod schema and returns it frozen, or throws a ConfigError whose
 * message is one line naming the first bad variable: `AUTH_PORT: expected a number, got "x"`.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): Readonly<z.output<S>> {
  const parsed = schema.safeParse(env)
  if (parsed.success) return Object.freeze(parsed.data)
  const issue = parsed.error.issues[0]!
  const name = issue.path.map(String).join('.') || 'environment'
  const raw = issue.path.length === 1 ? env[String(issue.path[0])] : undefined
  const got = raw === undefined || SECRET_NAME.test(name) ? '' : `, got ${JSON.stringify(shown(raw))}`
  throw new ConfigError(`${name}: ${issue.message}${got}`)
}

/**
 * Calls `load`; on a ConfigError prints its one line to stderr and exits with status 1, the
 * start-up behaviour CONTRACT §1 asks of every service.
 */
export function loadConfigOrExit<T>(service: string, load: () => T): T {
  try {
    return load()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: invalid configuration: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
}
