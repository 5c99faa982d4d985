import { createLicenseVerifier, type LicenseCheck, type LicenseRefusal, type LicenseVerifierOptions } from './verifier.ts'
import type { Jwks } from './token.ts'

/** One of the validation codes of CONTRACT §5. */
export type ValidationCode = 'VALID' | 'EXPIRED' | 'REVOKED' | 'SUSPENDED' | 'NOT_ACTIVATED' | 'FINGERPRINT_MISMATCH' | 'MACHINE_LIMIT'

export type Activation = {
  activationId: string
  licenseId: string
  licenseToken: string
  validateBefore: Date
  graceUntil: Date
  /** True for a new activation (201), false when this machine was already activated (200). */
  created: boolean
  /** The offline check of the token just received, for this machine. */
  check: LicenseCheck
}

export type Validation = {
  valid: boolean
  code: ValidationCode
  licenseId: string
  expiresAt: Date | null
  /** A refreshed token when `valid`. */
  licenseToken?: string
  /** The offline check of the refreshed token, when there is one. */
  check?: LicenseCheck
}

/** A problem answer of the license service (`code` is stable: `machine_limit_reached` ...). */
export class LicenseServiceError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.name = 'LicenseServiceError'
    this.status = status
    this.code = code
  }
}

/** The client refused to use a token before any network call (another machine or product, forged). */
export class LicenseRefusedError extends Error {
  readonly reason: LicenseRefusal
  constructor(reason: LicenseRefusal) {
    super(`license token refused: ${reason}`)
    this.name = 'LicenseRefusedError'
    this.reason = reason
  }
}

export type LicenseClientOptions = LicenseVerifierOptions & {
  /** The platform's public URL (the gateway), e.g. `https://api.example.com`. */
  baseUrl: string
  /** A fetch to use (custom CA, proxy); the global one unless given. */
  fetch?: typeof fetch
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number
}

export type LicenseClient = {
  /** Activates this machine with a license key; the token is verified before it is returned. */
  activate(input: { key: string; fingerprint: string; machineName?: string; platform?: string }): Promise<Activation>
  /**
   * Validates online with the saved token (heartbeat), refreshing it when valid. A token that is
   * not this machine's, not this product's or not genuine is refused here with
   * {@link LicenseRefusedError} and never sent; an old or expired one is sent (that is the point).
   */
  validateToken(licenseToken: string, fingerprint: string): Promise<Validation>
  /** Validates online with the key and this machine's fingerprint. */
  validateKey(key: string, fingerprint: string): Promise<Validation>
  /** The offline check of a saved token. */
  check(token: string, fingerprint: string): LicenseCheck
}

/**
 * What a desktop app embeds: offline checks against pinned keys plus the two online calls.
 * Every token the service hands out is checked offline for this product and this machine before
 * it is returned, so a token bound elsewhere is never stored by mistake (`check.ok === false`).
 *
 * @example
 * const licensing = createLicenseClient({ baseUrl: 'https://api.example.com', product: 'editor-pro', jwks: PINNED_JWKS })
 * const { licenseToken, check } = await licensing.activate({ key, fingerprint: machineFingerprint() })
 * if (check.ok) saveToken(licenseToken)
 */
export function createLicenseClient(opts: LicenseClientOptions): LicenseClient {
  const verifier = createLicenseVerifier(opts)
  const doFetch = opts.fetch ?? fetch
  const base = opts.baseUrl.replace(/\/+$/, '')

  async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await doFetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    })
    const text = await response.text()
    let parsed: Record<string, unknown> = {}
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {}
    } catch {
      parsed = {}
    }
    if (!response.ok) {
      const code = typeof parsed.code === 'string' ? parsed.code : 'http_error'
      throw new LicenseServiceError(response.status, code, typeof parsed.detail === 'string' ? parsed.detail : `license service answered ${response.status}`)
    }
    return { status: response.status, body: parsed }
  }

  function toValidation(body: Record<string, unknown>, fingerprint: string): Validation {
    const token = typeof body.license_token === 'string' ? body.license_token : undefined
    return {
      valid: body.valid === true,
      code: body.code as ValidationCode,
      licenseId: String(body.license_id),
      expiresAt: typeof body.expires_at === 'string' ? new Date(body.expires_at) : null,
      ...(token ? { licenseToken: token, check: verifier.check(token, fingerprint) } : {}),
    }
  }

  return {
    async activate(input) {
      const answer = await post('/licenses/activate', {
        key: input.key,
        fingerprint: input.fingerprint,
        ...(input.machineName !== undefined ? { machine_name: input.machineName } : {}),
        ...(input.platform !== undefined ? { platform: input.platform } : {}),
      })
      const token = String(answer.body.license_token)
      return {
        activationId: String(answer.body.activation_id),
        licenseId: String(answer.body.license_id),
        licenseToken: token,
        validateBefore: new Date(String(answer.body.validate_before)),
        graceUntil: new Date(String(answer.body.grace_until)),
        created: answer.status === 201,
        check: verifier.check(token, input.fingerprint),
      }
    },
    async validateToken(licenseToken, fingerprint) {
      const local = verifier.check(licenseToken, fingerprint)
      if (!local.ok && local.reason !== 'clock_set_back') throw new LicenseRefusedError(local.reason)
      return toValidation((await post('/licenses/validate', { license_token: licenseToken })).body, fingerprint)
    },
    async validateKey(key, fingerprint) {
      return toValidation((await post('/licenses/validate', { key, fingerprint })).body, fingerprint)
    },
    check: (token, fingerprint) => verifier.check(token, fingerprint),
  }
}

export type { Jwks }
