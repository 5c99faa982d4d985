import { problems, type ErrorCode } from '@platform/contracts'

/**
 * The one error class domain code throws. It carries a stable code from the catalogue; the HTTP
 * kit's error middleware turns it into problem+json. `detail` must be safe to show to a client.
 */
export class AppError extends Error {
  readonly code: ErrorCode
  readonly detail: string | undefined
  readonly headers: Record<string, string> | undefined
  /** Overrides the code's usual status where CONTRACT says so (a bad link token is 400 `invalid_token`). */
  readonly statusOverride: number | undefined
  constructor(
    code: ErrorCode,
    detail?: string,
    options?: { cause?: unknown; headers?: Record<string, string>; status?: number },
  ) {
    super(detail ?? problems[code].title, options)
    this.name = 'AppError'
    this.code = code
    this.detail = detail
    this.headers = options?.headers
    this.statusOverride = options?.status
  }

  get status(): number {
    return this.statusOverride ?? problems[this.code].status
  }
}

/** A body or query that failed its schema; answered as 400 `validation_failed` with `errors`. */
export class ValidationError extends AppError {
  readonly errors: { path: string; message: string }[]
  constructor(errors: { path: string; message: string }[]) {
    super('validation_failed', 'The request does not match the expected schema')
    this.name = 'ValidationError'
    this.errors = errors
  }
}
