import { AppError } from '@platform/platform'
import type { Transaction } from 'kysely'
import type { EventOrigin } from '../events/publish.ts'
import { findLicenseWithMachines, lockLicenseById, updateLicense } from '../store/licenses.ts'
import { clearActivationAttempts, deleteMachine } from '../store/machines.ts'
import type { LicenseDatabase } from '../store/schema.ts'
import { nowOf, type LicenseDeps } from './deps.ts'
import { generateLicenseKey, hashLicenseKey, keyLast4, normalizeLicenseKey } from './license-key.ts'
import { relationOf, type Caller, type License, type Machine, type Relation } from './license.ts'

const NOT_FOUND = 'No license with this id is visible to you'

/**
 * Loads a license the caller may see (owner, issuer, admin). Anyone else gets 404
 * `license_not_found`, exactly as for an id that does not exist: ids of other people's licenses
 * are not confirmed (CONTRACT §2).
 */
async function lockVisible(trx: Transaction<LicenseDatabase>, caller: Caller, id: string): Promise<{ license: License; relation: Relation }> {
  const license = await lockLicenseById(trx, id)
  const relation = license ? relationOf(license, caller) : 'none'
  if (!license || relation === 'none') throw new AppError('license_not_found', NOT_FOUND)
  return { license, relation }
}

export async function getLicense(deps: LicenseDeps, caller: Caller, id: string): Promise<{ license: License; machines: Machine[] }> {
  const found = await findLicenseWithMachines(deps.db, { id })
  if (!found || relationOf(found.license, caller) === 'none') throw new AppError('license_not_found', NOT_FOUND)
  return found
}

/**
 * Revokes a license for good: from the commit on, validate answers `REVOKED` and activation
 * `license_revoked` (PostgreSQL says so at once; the store's negative cache learns it right after). Issuer or admin only; an owner who is neither gets 403 `forbidden` (they can
 * see the license, so hiding it would be a lie). Revoking twice changes nothing.
 */
export async function revokeLicense(deps: LicenseDeps, caller: Caller, id: string, origin: EventOrigin = {}): Promise<License> {
  const now = nowOf(deps)
  const revoked = await deps.inTransaction(async (trx) => {
    const { license, relation } = await lockVisible(trx, caller, id)
    if (relation === 'owner') throw new AppError('forbidden', 'Only the issuer or an admin can revoke a license')
    if (license.status === 'revoked') return license
    const revoked = await updateLicense(trx, id, { status: 'revoked', revoked_at: now }, now)
    await deps.events.write(trx, {
      type: 'license.license.revoked',
      subject: { type: 'license', id },
      outcome: 'success',
      origin: { ...origin, actorId: caller.userId },
      data: { license_id: id, product: license.product, owner_id: license.ownerId, revoked_by: caller.userId },
    })
    return revoked
  })
  // After the commit, never before: a cached revocation that then rolled back would refuse a live license.
  await deps.revokedLicenses.remember(revoked)
  return revoked
}

/** Replaces the key: the old one stops working at once; activated machines keep their slots. */
export async function reissueKey(deps: LicenseDeps, caller: Caller, id: string, origin: EventOrigin = {}): Promise<string> {
  const now = nowOf(deps)
  const key = generateLicenseKey()
  const normalized = normalizeLicenseKey(key)!
  await deps.inTransaction(async (trx) => {
    const { license } = await lockVisible(trx, caller, id)
    if (license.status === 'revoked') throw new AppError('license_revoked', 'This license has been revoked')
    const updated = await updateLicense(trx, id, { key_hash: hashLicenseKey(normalized, deps.keySecret), key_last4: keyLast4(normalized) }, now)
    await deps.events.write(trx, {
      type: 'license.license.key_reissued',
      subject: { type: 'license', id },
      outcome: 'success',
      origin: { ...origin, actorId: caller.userId },
      data: { license_id: id, previous_key_last4: license.keyLast4, key_last4: updated.keyLast4 },
    })
  })
  return key
}

/** Frees a machine slot (a lost or replaced machine); its token stops validating online. */
export async function deactivateMachine(deps: LicenseDeps, caller: Caller, id: string, activationId: string, origin: EventOrigin = {}): Promise<void> {
  await deps.inTransaction(async (trx) => {
    const { license } = await lockVisible(trx, caller, id)
    const machine = await deleteMachine(trx, id, activationId)
    if (!machine) throw new AppError('activation_not_found', 'This license has no activation with this id')
    await deps.events.write(trx, {
      type: 'license.license.deactivated',
      subject: { type: 'license', id },
      outcome: 'success',
      origin: { ...origin, actorId: caller.userId },
      data: { license_id: id, activation_id: activationId, product: license.product, fingerprint_hash: machine.fingerprintHash },
    })
  })
}

/** Lifts an abuse suspicion: activations are accepted again and the count of tries starts over. */
export async function clearAbuse(deps: LicenseDeps, caller: Caller, id: string, origin: EventOrigin = {}): Promise<License> {
  const now = nowOf(deps)
  return deps.inTransaction(async (trx) => {
    const { license, relation } = await lockVisible(trx, caller, id)
    if (relation !== 'admin') throw new AppError('forbidden', 'Only an admin can clear an abuse suspicion')
    await clearActivationAttempts(trx, id)
    if (!license.abuseSuspectedAt) return license
    const cleared = await updateLicense(trx, id, { abuse_suspected_at: null }, now)
    await deps.events.write(trx, {
      type: 'license.license.abuse_cleared',
      subject: { type: 'license', id },
      outcome: 'success',
      origin: { ...origin, actorId: caller.userId },
      data: { license_id: id, suspected_at: license.abuseSuspectedAt.toISOString() },
    })
    return cleared
  })
}

/**
 * Suspends or resumes a license for a reason outside any request (billing: a subscription
 * `past_due` or `canceled` suspends, `active` again resumes; CONTRACT §6). Suspended licenses
 * validate as `SUSPENDED` and refuse activation. A revoked license stays revoked. Returns
 * undefined for an unknown id.
 */
export async function setSuspended(deps: LicenseDeps, id: string, suspended: boolean, reason: string): Promise<License | undefined> {
  return deps.inTransaction((trx) => setSuspendedIn(deps, trx, id, suspended, reason))
}

/** {@link setSuspended} inside the caller's transaction (the billing consumer's inbox transaction). */
export async function setSuspendedIn(
  deps: LicenseDeps,
  trx: Transaction<LicenseDatabase>,
  id: string,
  suspended: boolean,
  reason: string,
  extra: Record<string, unknown> = {},
): Promise<License | undefined> {
  const now = nowOf(deps)
  const license = await lockLicenseById(trx, id)
  if (!license || license.status === 'revoked') return license
  if ((license.status === 'suspended') === suspended) return license
  const updated = await updateLicense(trx, id, suspended ? { status: 'suspended', suspended_at: now } : { status: 'active', suspended_at: null }, now)
  await deps.events.write(trx, {
    type: suspended ? 'license.license.suspended' : 'license.license.reactivated',
    subject: { type: 'license', id },
    outcome: 'success',
    data: { ...extra, license_id: id, product: license.product, owner_id: license.ownerId, reason },
  })
  return updated
}
