import type { Generated, Insertable, Selectable } from 'kysely'
import type { OutboxTables } from '@platform/bus/outbox'

/** `active` until revoked (for good) or suspended (by billing; reversible). Expiry is derived. */
export type StoredStatus = 'active' | 'suspended' | 'revoked'

export interface LicensesTable {
  id: string
  /** HMAC-SHA256 (hex) of the normalized key under LICENSE_KEY_SECRET; the key itself is never stored. */
  key_hash: string
  key_last4: string
  product: string
  status: StoredStatus
  max_machines: number
  expires_at: Date | null
  owner_id: string | null
  /** Lower-cased; claimed (owner_id set) by the user who proves this e-mail. */
  owner_email: string | null
  issued_by: string | null
  entitlements: string[]
  created_at: Date
  updated_at: Date
  revoked_at: Date | null
  suspended_at: Date | null
  /** Set when too many fingerprints were tried: activations are refused until an admin clears it. */
  abuse_suspected_at: Date | null
}

export interface MachinesTable {
  /** The activation id. */
  id: string
  license_id: string
  /** base64url SHA-256 of the fingerprint (the token's `fp`); the raw fingerprint is never stored. */
  fingerprint_hash: string
  machine_name: string | null
  platform: string | null
  created_at: Date
  last_seen_at: Date
}

export interface ActivationAttemptsTable {
  license_id: string
  fingerprint_hash: string
  attempted_at: Date
}

export interface ResellerQuotasTable {
  user_id: string
  /** Null: the default quota. */
  quota: number | null
  /** Licenses this reseller issued, counted when issued. */
  issued: Generated<number>
  updated_at: Date
}

/** Which license a payments subscription brought, and the last subscription event applied to it. */
export interface SubscriptionLicensesTable {
  subscription_id: string
  user_id: string
  /** Null until the subscription was first live (trialing or active). */
  license_id: string | null
  status: string
  /** The `version` of the last `payments.subscription.*` event applied; older ones are dropped. */
  version: number
  updated_at: Generated<Date>
}

export interface LicenseDatabase extends OutboxTables {
  subscription_licenses: SubscriptionLicensesTable
  licenses: LicensesTable
  machines: MachinesTable
  activation_attempts: ActivationAttemptsTable
  reseller_quotas: ResellerQuotasTable
}

export type LicenseRow = Selectable<LicensesTable>
export type NewLicenseRow = Insertable<LicensesTable>
export type MachineRow = Selectable<MachinesTable>
