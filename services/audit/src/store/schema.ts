import type { ColumnType, Generated, Selectable } from 'kysely'
import type { OutboxTables } from '@platform/bus/outbox'

// int8 columns come back from node-postgres (and, matched, from PGlite) as strings.
type Int8 = ColumnType<string, number | string, number | string>

/** The append-only log: one row per event, chained by `prev_hash` → `hash` in `seq` order. */
export interface AuditRecordsTable {
  seq: Int8
  id: string
  occurred_at: ColumnType<Date, string, never>
  recorded_at: ColumnType<Date, string, never>
  source: string
  action: string
  actor_id: string | null
  subject_type: string | null
  subject_id: string | null
  outcome: string | null
  ip_hash: string | null
  user_agent: string | null
  request_id: string | null
  details: ColumnType<Record<string, unknown>, string, never>
  prev_hash: string
  hash: string
}

/**
 * The chain's single head row (`id` = 1): the last record's seq and hash, locked by every batch
 * so that one writer at a time extends the chain, and the anchor (the last purged record) that
 * integrity checks start from.
 */
export interface AuditChainHeadTable {
  id: number
  last_seq: Int8
  last_hash: string
  anchor_seq: Int8
  anchor_hash: string
  created_at: ColumnType<Date, never, never>
}

/** How far records have been republished on `audit.records` (single row, `id` = 1). */
export interface AuditRecordRelayTable {
  id: number
  relayed_seq: Int8
}

/** Signed digests, numbered from 1; each signs the chain head and the previous digest's signature. */
export interface AuditDigestsTable {
  number: Int8
  interval_start: ColumnType<Date, string, never>
  interval_end: ColumnType<Date, string, never>
  from_seq: Int8
  to_seq: Int8
  head_hash: string
  previous_signature: string | null
  kid: string
  signature: string
}

/** Every public key that ever signed a digest, so old digests stay verifiable after a key change. */
export interface AuditSigningKeysTable {
  kid: string
  public_jwk: ColumnType<Record<string, unknown>, string, never>
  created_at: Generated<Date>
}

/** When a failed-login rule last fired for a key: one alert per key and window. */
export interface AuditAlertStateTable {
  rule: string
  key: string
  last_raised_for: ColumnType<Date, string, string>
}

export interface AuditDatabase extends OutboxTables {
  audit_records: AuditRecordsTable
  audit_chain_head: AuditChainHeadTable
  audit_record_relay: AuditRecordRelayTable
  audit_digests: AuditDigestsTable
  audit_signing_keys: AuditSigningKeysTable
  audit_alert_state: AuditAlertStateTable
}

export type AuditRecordRow = Selectable<AuditRecordsTable>
export type AuditDigestRow = Selectable<AuditDigestsTable>
