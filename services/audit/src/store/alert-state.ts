import { sql } from 'kysely'
import type { Executor } from '@platform/db'
import type { AuditDatabase } from './schema.ts'

type Db = Executor<AuditDatabase>

/** The `occurred_at` of the failure that last fired `rule` for `key`, if it ever did. */
export async function lastRaisedFor(db: Db, rule: string, key: string): Promise<Date | undefined> {
  const row = await db.selectFrom('audit_alert_state').select('last_raised_for').where('rule', '=', rule).where('key', '=', key).executeTakeFirst()
  return row ? new Date(row.last_raised_for) : undefined
}

export async function markRaised(db: Db, rule: string, key: string, at: string): Promise<void> {
  await db
    .insertInto('audit_alert_state')
    .values({ rule, key, last_raised_for: at })
    .onConflict((oc) => oc.columns(['rule', 'key']).doUpdateSet({ last_raised_for: at }))
    .execute()
}

/** Forgets keys whose last alert is older than `cutoff`: their window is long over. */
export async function forgetAlertsBefore(db: Db, cutoff: string): Promise<void> {
  await db.deleteFrom('audit_alert_state').where('last_raised_for', '<', sql<Date>`${cutoff}::timestamptz`).execute()
}
