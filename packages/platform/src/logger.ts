import { pino, type Logger } from 'pino'
import { currentRequestId } from './context.ts'

export type { Logger }

/**
 * Paths pino censors wherever they occur. Secrets must never reach a log line (CONTRACT §1):
 * headers that carry credentials, and any field that names a password, token, key or secret.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.license_token',
  '*.key',
  '*.secret',
  '*.client_secret',
  'password',
  'token',
  'access_token',
  'refresh_token',
  'key',
  'secret',
]

/**
 * The service's JSON logger. Every line carries `service` and, inside a request, `request_id`
 * from the request context.
 *
 * @example
 * const log = createLogger('auth', { level: 'info' })
 * log.info({ port }, 'auth ready')
 */
export function createLogger(
  service: string,
  opts: { level?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    {
      name: service,
      level: opts.level ?? 'info',
      base: { service },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin() {
        const requestId = currentRequestId()
        return requestId ? { request_id: requestId } : {}
      },
    },
    opts.destination as pino.DestinationStream | undefined,
  )
}
