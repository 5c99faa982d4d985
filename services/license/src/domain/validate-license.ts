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

/** The verdict; `license` is what the answer and its event need (a revoked one may come from the store). */
export type ValidationResult = { valid: boolean; code: ValidationCode; license: Pick<License, 'id' | 'product' | 'expiresAt'>; token?: IssuedToken }

/** A license token this much past its `exp` is still accepted online (clock skew between replicas). */
const TOKEN_LEEWAY_SECONDS = 30
/**
 * `last_seen_at` moves at most once a minute per machine: a real client validates once a day,
 * and a burst of validations from one machine must not turn into a burst of writes.
 */
export const HEARTBEAT_MIN_INTERVAL_MS = 60_000

/**
 * Online validation with the key and the machine's fingerprint. A key already known revoked is
 * answered from the store's negative cache (`revokedLicenses`, written after the revocation
 * committed); anything else reads the license straight from PostgreSQL, so a revocation or
 * suspension shows at once. A `VALID` answer is a heartbeat (`last_seen_at`) and carries a
 * refreshed token; anything else is recorded as an event.
 */
export async function validateByKey(deps: LicenseDeps, input: { key: string; fingerprint: string }, origin: EventOrigin = {}): Promise<ValidationResult> {
  const normalized = normalizeLicenseKey(input.key)
  if (!normalized) throw new AppError('license_not_found', 'No license has this key')
  const keyHash = hashLicenseKey(normalized, deps.keySecret)
  const fpHash = fingerprintHash(input.fingerprint)
  const revoked = await deps.revokedLicenses.find({ keyHash })
  if (revoked) return refuse(deps, revoked, 'REVOKED', fpHash, origin)
  const found = await findLicenseWithMachines(deps.db, { keyHash })
  if (!found) throw new AppError('license_not_found', 'No license has this key')
  return validateMachine(deps, found.license, found.machines, fpHash, origin)
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
  const revoked = await deps.revokedLicenses.find({ id: claims.sub })
  if (revoked) {
    if (revoked.product !== claims.aud) throw new AppError('invalid_token', 'The license token is not genuine')
    return refuse(deps, revoked, 'REVOKED', claims.fp, origin)
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
  // Revocation is final: a store that lost the entry (a flush, a restart) learns it again here.
  if (code === 'REVOKED') await deps.revokedLicenses.remember(license)
  return refuse(deps, license, code, fpHash, origin)
}

/** A non-`VALID` verdict, recorded as `license.validation.failed`. */
async function refuse(deps: LicenseDeps, license: ValidationResult['license'], code: ValidationCode, fpHash: string, origin: EventOrigin): Promise<ValidationResult> {
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
