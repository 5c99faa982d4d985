import type { Transaction } from 'kysely'
import { createEnvelope, type EventEnvelope } from '@platform/bus'
import { writeEvent } from '@platform/bus/outbox'
import { lastRaisedFor, markRaised } from '../store/alert-state.ts'
import { countFailedLogins } from '../store/records.ts'
import type { AuditDatabase } from '../store/schema.ts'
import type { AuditRecord } from './record.ts'

export const FAILED_LOGIN_ACTION = 'auth.login.failed'
/** Failed logins for one key within the window that raise an alert (CONTRACT §8). */
export const FAILED_LOGIN_THRESHOLD = 5
export const FAILED_LOGIN_WINDOW_S = 300

export type AlertRule = 'failed_logins_account' | 'failed_logins_ip'

/** The `data` of `audit.alert.raised`; `subject` is the account's subject id or the IP hash. */
export type AlertData = { rule: AlertRule; subject: string; count: number; window_s: number }

/**
 * Applies the failed-login rules to records just appended in `trx`: when a failure brings the
 * count for its account (subject) or its IP hash to 5 or more within the 5 minutes before it
 * (by `occurred_at`, so late deliveries count where they belong), one `audit.alert.raised` goes
 * to the outbox in the same transaction. A key that fired stays quiet until a failure more than
 * one window away from the one that fired it: one alert per key and window, not one per failure.
 * Runs under the chain-head lock, so replicas never raise the same alert twice.
 */
export async function raiseFailedLoginAlerts(trx: Transaction<AuditDatabase>, records: readonly AuditRecord[]): Promise<EventEnvelope[]> {
  const raised: EventEnvelope[] = []
  for (const record of records) {
    if (record.action !== FAILED_LOGIN_ACTION) continue
    const candidates: { rule: AlertRule; key: string; subject: { type: string; id: string }; count: () => Promise<number> }[] = []
    const windowStart = new Date(Date.parse(record.occurred_at) - FAILED_LOGIN_WINDOW_S * 1000).toISOString()
    if (record.subject) {
      const subjectId = record.subject.id
      candidates.push({ rule: 'failed_logins_account', key: subjectId, subject: record.subject, count: () => countFailedLogins(trx, { subjectId }, windowStart, record.occurred_at) })
    }
    if (record.ip_hash) {
      const ipHash = record.ip_hash
      candidates.push({ rule: 'failed_logins_ip', key: ipHash, subject: { type: 'ip_hash', id: ipHash }, count: () => countFailedLogins(trx, { ipHash }, windowStart, record.occurred_at) })
    }
    for (const candidate of candidates) {
      const last = await lastRaisedFor(trx, candidate.rule, candidate.key)
      if (last && Math.abs(Date.parse(record.occurred_at) - last.getTime()) < FAILED_LOGIN_WINDOW_S * 1000) continue
      const count = await candidate.count()
      if (count < FAILED_LOGIN_THRESHOLD) continue
      const data: AlertData = { rule: candidate.rule, subject: candidate.key, count, window_s: FAILED_LOGIN_WINDOW_S }
      const alert = createEnvelope({
        type: 'audit.alert.raised',
        source: 'audit',
        subject: candidate.subject,
        ...(record.request_id ? { request_id: record.request_id } : {}),
        data,
      })
      await markRaised(trx, candidate.rule, candidate.key, record.occurred_at)
      await writeEvent(trx, alert)
      raised.push(alert)
    }
  }
  return raised
}
