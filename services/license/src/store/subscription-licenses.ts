import type { Executor } from '@platform/db'
import type { LicenseDatabase } from './schema.ts'

type Db = Executor<LicenseDatabase>

export type SubscriptionLicense = { subscriptionId: string; userId: string; licenseId: string | null; status: string; version: number }

/**
 * The subscription's record, locked for the transaction; created (version 0, no license) on
 * its first event. Events about one subscription are thus applied one after the other.
 */
export async function lockOrCreateSubscriptionLicense(db: Db, subscriptionId: string, userId: string): Promise<SubscriptionLicense> {
  await db
    .insertInto('subscription_licenses')
    .values({ subscription_id: subscriptionId, user_id: userId, license_id: null, status: 'none', version: 0 })
    .onConflict((oc) => oc.column('subscription_id').doNothing())
    .execute()
  const row = await db.selectFrom('subscription_licenses').selectAll().where('subscription_id', '=', subscriptionId).forUpdate().executeTakeFirstOrThrow()
  return { subscriptionId: row.subscription_id, userId: row.user_id, licenseId: row.license_id, status: row.status, version: row.version }
}

export async function saveSubscriptionLicense(db: Db, record: SubscriptionLicense, now: Date): Promise<void> {
  await db
    .updateTable('subscription_licenses')
    .set({ license_id: record.licenseId, status: record.status, version: record.version, updated_at: now })
    .where('subscription_id', '=', record.subscriptionId)
    .execute()
}
