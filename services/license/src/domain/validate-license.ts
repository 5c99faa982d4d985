import { LicenseTokenError, verifyLicenseSignature, type KeySet } from '@platform/license-client'
import { AppError } from '@platform/platform'
import type { EventOrigin } from '../events/publish.ts'
import { findLicenseWithMachines } from '../store/licenses.ts'
import { touchMachine } from '../store/machines.ts'
import { nowOf, type LicenseDeps } from './deps.ts'
import { hashLicenseKey, normalizeLicenseKey } from './license-key.ts'
import { fingerprintHash } from './license-token.ts'
import { validationCode, type License, type Machine, type ValidationCode } from './license.ts'
import { issueTokenFor, type IssuedToken } from './token-issuer.ts'

export type ValidationResult = { valid: boolean; code: ValidationCode; license: License; token?: IssuedToken }

/** A license token this much past its `exp` is still accepted online (clock skew between replicas). */
const TOKEN_LEEWAY_SECONDS = 30
/**
 * `last_seen_at` moves at most once a minute per machine: a real client validates once a day,
 * and a burst of validations from one machine must not turn into a burst of writes.
 */
export const HEARTBEAT_MIN_INTERVAL_MS = 60_000

/**
 * Online validation with the key and the machine's fingerprint. Reads the license straight from
 * the database, so a revocation or suspension shows at once. A `VALID` answer is a heartbeat
 * (`last_seen_at`) and carries a refreshed token; anything else is recorded as an event.
 */
export async function validateByKey(deps: LicenseDeps, input: { key: string; fingerprint: string }, origin: EventOrigin = {}): Promise<ValidationResult> {
  const normalized = normalizeLicenseKey(input.key)
  const found = normalized ? await findLicenseWithMachines(deps.db, { keyHash: hashLicenseKey(normalized, deps.keySecret) }) : undefined
  if (!found) throw new AppError('license_not_found', 'No license has this key')
  return validateMachine(deps, found.license, found.machines, fingerprintHash(input.fingerprint), origin)
}

/**
 * Online validation with a license token this service signed: the token names the license and
 * the machine (`fp`). A token that is not genuine is 401 `invalid_token`; one past its `exp`
 * is 401 `token_expired`, since after the grace only the key proves the right to a new one.
 */
export async function validateByToken(deps: LicenseDeps, input: { token: string }, origin: EventOrigin = {}): Promise<ValidationResult> {
  const keys: KeySet = new Map(deps.keys.all().map((k) => [k.kid, k.publicKey]))
  let claims
  try {
    claims = verifyLicenseSignature(input.token, keys)
  } catch (error) {
    if (error instanceof LicenseTokenError) throw new AppError('invalid_token', 'The license token is not genuine')
    throw error
  }
  if (claims.iss !== deps.tokens.issuer) throw new AppError('invalid_token', 'The license token is not genuine')
  const now = nowOf(deps)
  if (claims.exp + TOKEN_LEEWAY_SECONDS <= now.getTime() / 1000) {
    throw new AppError('token_expired', 'The license token is past its grace period; validate with the license key')
  }
  const found = await findLicenseWithMachines(deps.db, { id: claims.sub })
  if (!found || found.license.product !== claims.aud) throw new AppError('invalid_token', 'The license token is not genuine')
  return validateMachine(deps, found.license, found.machines, claims.fp, origin)
}

async function validateMachine(deps: LicenseDeps, license: License, machines: Machine[], fpHash: string, origin: EventOrigin): Promise<ValidationResult> {
  const now = nowOf(deps)
  const code = validationCode(license, machines, fpHash, now)
  if (code === 'VALID') {
    const machine = machines.find((m) => m.fingerprintHash === fpHash)!
    if (now.getTime() - machine.lastSeenAt.getTime() >= HEARTBEAT_MIN_INTERVAL_MS) await touchMachine(deps.db, machine.id, now)
    return { valid: true, code, license, token: issueTokenFor(deps, license, fpHash, now) }
  }
  await deps.inTransaction((trx) =>
    deps.events.write(trx, {
      type: 'license.validation.failed',
      subject: { type: 'license', id: license.id },
      outcome: 'failure',
      origin,
      data: { license_id: license.id, product: license.product, code, fingerprint_hash: fpHash },
    }),
  )
  return { valid: false, code, license }
}
