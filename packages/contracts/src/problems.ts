/**
 * The catalogue of error codes every service answers with (CONTRACT §2). A code is stable
 * forever; its status and title live here once, and `problemType(code)` gives the URI of its
 * documentation, so clients branch on `code`, people read `title`.
 */
export const problems = {
  validation_failed: { status: 400, title: 'Request validation failed' },
  malformed_json: { status: 400, title: 'Malformed JSON body' },
  invalid_signature: { status: 400, title: 'Invalid signature' },
  invalid_token: { status: 401, title: 'Invalid token' },
  token_expired: { status: 401, title: 'Token expired' },
  unauthorized: { status: 401, title: 'Authentication required' },
  invalid_credentials: { status: 401, title: 'Invalid credentials' },
  refresh_token_reused: { status: 401, title: 'Refresh token reused' },
  invalid_client: { status: 401, title: 'Invalid client credentials' },
  forbidden: { status: 403, title: 'Forbidden' },
  quota_exceeded: { status: 403, title: 'License quota exceeded' },
  license_revoked: { status: 403, title: 'License revoked' },
  license_expired: { status: 403, title: 'License expired' },
  license_suspended: { status: 403, title: 'License suspended' },
  https_required: { status: 403, title: 'HTTPS required' },
  account_disabled: { status: 403, title: 'Account disabled' },
  csrf_failed: { status: 403, title: 'CSRF check failed' },
  not_found: { status: 404, title: 'Not found' },
  session_not_found: { status: 404, title: 'Session not found' },
  user_not_found: { status: 404, title: 'User not found' },
  license_not_found: { status: 404, title: 'License not found' },
  activation_not_found: { status: 404, title: 'Activation not found' },
  checkout_session_not_found: { status: 404, title: 'Checkout session not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  email_taken: { status: 409, title: 'E-mail already registered' },
  machine_limit_reached: { status: 409, title: 'Machine limit reached' },
  subscription_exists: { status: 409, title: 'Subscription already exists' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  account_locked: { status: 423, title: 'Account locked' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal error' },
  bad_gateway: { status: 502, title: 'Bad gateway' },
  dependency_unavailable: { status: 503, title: 'Dependency unavailable' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
  gateway_timeout: { status: 504, title: 'Gateway timeout' },
} as const satisfies Record<string, { status: number; title: string }>

/** A stable, machine-readable error code (`invalid_credentials`, `rate_limited`, ...). */
export type ErrorCode = keyof typeof problems

/** Base of the `type` URIs: one documentation anchor per code (RFC 9457 §3.1.1). */
export const PROBLEM_TYPE_BASE = 'https://docs.security-platform.dev/problems/'

/** The `type` URI of a code. */
export function problemType(code: ErrorCode): string {
  return `${PROBLEM_TYPE_BASE}${code}`
}

/** The RFC 9457 body every error answer carries. */
export type Problem = {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
  request_id: string
  errors?: { path: string; message: string }[]
}

/** Builds the problem body for a code; `detail` defaults to the title. */
export function problemFor(
  code: ErrorCode,
  requestId: string,
  detail?: string,
  errors?: Problem['errors'],
): Problem {
  const { status, title } = problems[code]
  return {
    type: problemType(code),
    title,
    status,
    detail: detail ?? title,
    code,
    request_id: requestId,
    ...(errors ? { errors } : {}),
  }
}
