import type { Transaction } from 'kysely'
import { AppError, uuidv7, ValidationError } from '@platform/platform'
import type { EventOrigin } from '../events/publish.ts'
import { insertLicense } from '../store/licenses.ts'
import type { LicenseDatabase } from '../store/schema.ts'
import { takeQuota } from '../store/quotas.ts'
import { nowOf, type LicenseDeps } from './deps.ts'
import { generateLicenseKey, hashLicenseKey, keyLast4, normalizeLicenseKey } from './license-key.ts'
import { isAdmin, isReseller, type Caller, type License } from './license.ts'

export type IssueInput = {
  product: string
  maxMachines: number
  expiresAt?: Date | undefined
  ownerId?: string | undefined
  ownerEmail?: string | undefined
  entitlements: string[]
}

/**
 * Issues a license and returns it with its key, the only time the key is ever shown. Resellers
 * spend one unit of their quota (default 100) in the same transaction, atomically; admins have
 * no quota. Everyone else: 403 `forbidden`.
 */
export async function issueLicense(deps: LicenseDeps, caller: Caller, input: IssueInput, origin: EventOrigin = {}): Promise<{ license: License; key: string }> {
  const admin = isAdmin(caller)
  if (!admin && !isReseller(caller)) throw new AppError('forbidden', 'Only resellers and admins issue licenses')
  const now = nowOf(deps)
  if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
    throw new ValidationError([{ path: '/expires_at', message: 'must be in the future' }])
  }
  return deps.inTransaction(async (trx) => {
    if (!admin && !(await takeQuota(trx, caller.userId, deps.resellerQuotaDefault, now))) {
      throw new AppError('quota_exceeded', 'Your license quota is used up; ask an admin to raise it')
    }
    return insertIssuedLicense(deps, trx, { ...input, issuedBy: caller.userId }, { ...origin, actorId: caller.userId }, now)
  })
}

/**
 * Writes a new license and its `license.license.issued` event inside `trx`, and returns it with its
 * key. `issuedBy` null: the platform issued it (a subscription), not a person. `extra` joins the
 * event's data (e.g. the subscription it came from).
 */
export async function insertIssuedLicense(
  deps: LicenseDeps,
  trx: Transaction<LicenseDatabase>,
  input: IssueInput & { issuedBy: string | null },
  origin: EventOrigin,
  now: Date,
  extra: Record<string, unknown> = {},
): Promise<{ license: License; key: string }> {
  const key = generateLicenseKey()
  const normalized = normalizeLicenseKey(key)!
  const created = await insertLicense(trx, {
    id: uuidv7(now.getTime()),
    key_hash: hashLicenseKey(normalized, deps.keySecret),
    key_last4: keyLast4(normalized),
    product: input.product,
    status: 'active',
    max_machines: input.maxMachines,
    expires_at: input.expiresAt ?? null,
    owner_id: input.ownerId ?? null,
    owner_email: input.ownerEmail ?? null,
    issued_by: input.issuedBy,
    entitlements: input.entitlements,
    created_at: now,
    updated_at: now,
  })
  await deps.events.write(trx, {
    type: 'license.license.issued',
    subject: { type: 'license', id: created.id },
    outcome: 'success',
    origin,
    data: {
      ...extra,
      license_id: created.id,
      product: created.product,
      max_machines: created.maxMachines,
      expires_at: created.expiresAt?.toISOString() ?? null,
      owner_id: created.ownerId,
      // The notification service mails the owner; the key itself is never in an event.
      owner_email: created.ownerEmail,
      issued_by: created.issuedBy,
      entitlements: created.entitlements,
      key_last4: created.keyLast4,
    },
  })
  return { license: created, key }
}
