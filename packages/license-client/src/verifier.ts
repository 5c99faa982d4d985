import { fingerprintHash, keySetFromJwks, LicenseTokenError, verifyLicenseSignature, type Jwks, type LicenseClaims, type SignatureFailure } from './token.ts'

/**
 * What an app may do with its license right now:
 * - `valid`: run; the token is within 24 h of its last online validation.
 * - `must_revalidate`: run, but validate online now (past `vb`); keep running while offline
 *   until `graceUntil`.
 * - `expired`: stop; the offline grace is over (or the license itself expired). Validate online.
 */
export type LicenseState = 'valid' | 'must_revalidate' | 'expired'

/** Why a token cannot be used at all on this machine. */
export type LicenseRefusal = SignatureFailure | 'wrong_issuer' | 'wrong_product' | 'wrong_machine' | 'clock_set_back'

export type LicenseCheck =
  | {
      ok: true
      state: LicenseState
      licenseId: string
      entitlements: string[]
      validateBefore: Date
      graceUntil: Date
      claims: LicenseClaims
    }
  | { ok: false; reason: LicenseRefusal }

/**
 * Where the verifier keeps the latest time it has seen, so that a clock set back between runs is
 * noticed (PITFALLS: licensecc #81). Persist it next to the token, e.g. in the app's settings.
 */
export type ClockMemory = { load(): number | undefined; save(ms: number): void }

export type LicenseVerifierOptions = {
  /** The license service's public keys, pinned in the app (fetched once at build time). */
  jwks: Jwks
  /** This app's product: a token for another product is refused. */
  product: string
  /** The expected `iss`, e.g. `https://licensing.example.com/licenses`; unchecked when absent. */
  issuer?: string
  /** How far this machine's clock may lag the server's before it counts as set back; default 300 s. */
  clockToleranceSeconds?: number
  /** The clock, in ms; `Date.now` unless given. */
  now?: () => number
  /** Latest time seen; an in-memory one unless given (then only a set-back during a run is caught). */
  clock?: ClockMemory
}

export type LicenseVerifier = {
  /** Verifies `token` offline for the machine whose raw fingerprint is `fingerprint`. */
  check(token: string, fingerprint: string): LicenseCheck
}

const CLOCK_TOLERANCE_S_DEFAULT = 300

/**
 * The offline half of licensing: verifies a license token against the pinned key set, refuses a
 * token for another product or another machine, and refuses to decide when the clock was set
 * back before the token's `iat` or before the latest time this verifier saw.
 *
 * @example
 * const verifier = createLicenseVerifier({ jwks: PINNED_JWKS, product: 'editor-pro', clock: settingsClock })
 * const check = verifier.check(savedToken, machineFingerprint())
 * if (!check.ok || check.state === 'expired') return lockTheApp()
 * if (check.state === 'must_revalidate') void revalidateInBackground()
 */
export function createLicenseVerifier(opts: LicenseVerifierOptions): LicenseVerifier {
  const keys = keySetFromJwks(opts.jwks)
  const now = opts.now ?? Date.now
  const toleranceMs = (opts.clockToleranceSeconds ?? CLOCK_TOLERANCE_S_DEFAULT) * 1000
  const clock = opts.clock ?? memoryClock()
  // An app checks the same machine over and over: hash its fingerprint once.
  let lastFingerprint: string | undefined
  let lastHash = ''
  const hashOf = (fingerprint: string) => {
    if (fingerprint !== lastFingerprint) {
      lastHash = fingerprintHash(fingerprint)
      lastFingerprint = fingerprint
    }
    return lastHash
  }

  return {
    check(token, fingerprint) {
      let claims: LicenseClaims
      try {
        claims = verifyLicenseSignature(token, keys)
      } catch (error) {
        if (error instanceof LicenseTokenError) return { ok: false, reason: error.reason }
        throw error
      }
      if (opts.issuer !== undefined && claims.iss !== opts.issuer) return { ok: false, reason: 'wrong_issuer' }
      if (claims.aud !== opts.product) return { ok: false, reason: 'wrong_product' }
      if (claims.fp !== hashOf(fingerprint)) return { ok: false, reason: 'wrong_machine' }

      const nowMs = now()
      const lastSeen = clock.load()
      if (nowMs < claims.iat * 1000 - toleranceMs) return { ok: false, reason: 'clock_set_back' }
      if (lastSeen !== undefined && nowMs < lastSeen - toleranceMs) return { ok: false, reason: 'clock_set_back' }
      if (lastSeen === undefined || nowMs > lastSeen) clock.save(nowMs)

      return {
        ok: true,
        state: stateAt(claims, nowMs),
        licenseId: claims.sub,
        entitlements: claims.ent,
        validateBefore: new Date(claims.vb * 1000),
        graceUntil: new Date(claims.exp * 1000),
        claims,
      }
    },
  }
}

/** The state of a verified token at `nowMs`: pure, so an app can re-evaluate it on a timer. */
export function stateAt(claims: Pick<LicenseClaims, 'vb' | 'exp'>, nowMs: number): LicenseState {
  if (nowMs >= claims.exp * 1000) return 'expired'
  if (nowMs >= claims.vb * 1000) return 'must_revalidate'
  return 'valid'
}

/** A {@link ClockMemory} that lives as long as the process. */
export function memoryClock(initial?: number): ClockMemory {
  let last = initial
  return {
    load: () => last,
    save: (ms) => {
      last = ms
    },
  }
}
