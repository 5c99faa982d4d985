// Socket errors that mean "the other side is not there right now", not "this request is wrong".
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'])
// PostgreSQL SQLSTATEs of a server that is shutting down, starting up or full; class 08 is
// "connection exception" as a whole.
const POSTGRES_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300'])
// What node-postgres says, without a code, when the server went away under an open connection or
// no connection came free in time.
const POSTGRES_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/
// A migration changed a table under a prepared statement in a transaction; @platform/db prepares
// it afresh, so the request succeeds when tried again.
const isStalePlan = (code: unknown, message: unknown) => code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type')

/**
 * Whether `error` (or an error in its `cause` chain) says a dependency (PostgreSQL above all) is
 * unreachable or restarting, or was briefly unable to run a statement: such a request answers 503
 * `dependency_unavailable` with `Retry-After`, not 500, and the client may simply try again.
 */
export function isDependencyOutage(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown }
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true
    if (typeof message === 'string' && POSTGRES_MESSAGES.test(message)) return true
    if (isStalePlan(code, message)) return true
    if (current instanceof AggregateError && current.errors.some((inner) => isDependencyOutage(inner))) return true
  }
  return false
}
