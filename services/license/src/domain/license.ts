import type { ErrorCode } from '@platform/contracts'

/** A license as the domain sees it; the key exists only as its keyed hash and last 4 characters. */
export type License = {
  id: string
  keyHash: string
  keyLast4: string
  product: string
  status: 'active' | 'suspended' | 'revoked'
  maxMachines: number
  expiresAt: Date | null
  ownerId: string | null
  ownerEmail: string | null
  issuedBy: string | null
  entitlements: string[]
  createdAt: Date
  updatedAt: Date
  revokedAt: Date | null
  suspendedAt: Date | null
  abuseSuspectedAt: Date | null
}

/** One activated machine (the wire calls its id `activation_id`). */
export type Machine = {
  id: string
  licenseId: string
  fingerprintHash: string
  machineName: string | null
  platform: string | null
  createdAt: Date
  lastSeenAt: Date
}

/** Who is calling, from a verified access token. */
export type Caller = { userId: string; roles: readonly string[]; emailVerified: boolean }

/** What a client sees in `status`: the stored state, with expiry derived from `expires_at`. */
export type LicenseStatus = 'active' | 'suspended' | 'revoked' | 'expired'

export const LICENSE_STATUSES = ['active', 'suspended', 'revoked', 'expired'] as const satisfies readonly LicenseStatus[]

/** The answers of POST /licenses/validate (CONTRACT §5). */
export const VALIDATION_CODES = ['VALID', 'EXPIRED', 'REVOKED', 'SUSPENDED', 'NOT_ACTIVATED', 'FINGERPRINT_MISMATCH', 'MACHINE_LIMIT'] as const
export type ValidationCode = (typeof VALIDATION_CODES)[number]

/** How a caller relates to a license, strongest first. */
export type Relation = 'admin' | 'issuer' | 'owner' | 'none'

export const isAdmin = (caller: Caller): boolean => caller.roles.includes('admin')
export const isReseller = (caller: Caller): boolean => caller.roles.includes('reseller')

/** Revoked beats suspended beats expired: the strongest reason is the one a client must act on. */
export function effectiveStatus(license: Pick<License, 'status' | 'expiresAt'>, now: Date): LicenseStatus {
  if (license.status !== 'active') return license.status
  if (license.expiresAt && license.expiresAt.getTime() <= now.getTime()) return 'expired'
  return 'active'
}

export function relationOf(license: Pick<License, 'ownerId' | 'issuedBy'>, caller: Caller): Relation {
  if (isAdmin(caller)) return 'admin'
  if (license.issuedBy !== null && license.issuedBy === caller.userId) return 'issuer'
  if (license.ownerId !== null && license.ownerId === caller.userId) return 'owner'
  return 'none'
}

/**
 * Why an activation must be refused before any machine is looked at, or undefined. A key under
 * abuse suspicion answers `license_suspended` like a billing suspension: the holder cannot tell
 * the two apart, and the admin sees which in the license's `abuse_suspected_at`.
 */
export function activationRefusal(license: License, now: Date): ErrorCode | undefined {
  const status = effectiveStatus(license, now)
  if (status === 'revoked') return 'license_revoked'
  if (status === 'suspended') return 'license_suspended'
  if (status === 'expired') return 'license_expired'
  if (license.abuseSuspectedAt) return 'license_suspended'
  return undefined
}

/**
 * The validation code for the machine whose fingerprint hash is `fingerprintHash`. `machines`
 * must be in activation order (oldest first): when `max_machines` was lowered below the number
 * of activations, the oldest ones keep working and the newest get `MACHINE_LIMIT`, so lowering
 * a limit never locks out the machines that were there first.
 */
export function validationCode(license: License, machines: readonly Machine[], fingerprintHash: string, now: Date): ValidationCode {
  const status = effectiveStatus(license, now)
  if (status === 'revoked') return 'REVOKED'
  if (status === 'suspended') return 'SUSPENDED'
  if (status === 'expired') return 'EXPIRED'
  if (machines.length === 0) return 'NOT_ACTIVATED'
  const rank = machines.findIndex((m) => m.fingerprintHash === fingerprintHash)
  if (rank === -1) return 'FINGERPRINT_MISMATCH'
  if (rank >= license.maxMachines) return 'MACHINE_LIMIT'
  return 'VALID'
}

/** Token timing: `vb` 24 h after issue, `exp` the grace end, never past the license's expiry. */
export type TokenTiming = { validateBeforeSeconds: number; graceSeconds: number }

export const VALIDATE_BEFORE_SECONDS = 24 * 3600
export const GRACE_SECONDS = 7 * 24 * 3600

/**
 * The `iat`, `vb` and `exp` (seconds) of a license token issued at `now`, which is an online
 * validation (an activation counts as one): the grace runs from it, capped by `expiresAt`.
 */
export function tokenTimes(now: Date, expiresAt: Date | null, timing: TokenTiming): { iat: number; vb: number; exp: number } {
  const iat = Math.floor(now.getTime() / 1000)
  const graceEnd = iat + timing.graceSeconds
  const licenseEnd = expiresAt ? Math.floor(expiresAt.getTime() / 1000) : Number.POSITIVE_INFINITY
  return { iat, vb: iat + timing.validateBeforeSeconds, exp: Math.min(graceEnd, licenseEnd) }
}

/** Abuse: strictly more distinct fingerprints than allowed within the window (CONTRACT §5: "more than 10"). */
export function isAbuse(distinctFingerprints: number, allowed: number): boolean {
  return distinctFingerprints > allowed
}

/** The quota a reseller has when an admin never set one (CONTRACT §5). */
export const RESELLER_QUOTA_DEFAULT = 100
