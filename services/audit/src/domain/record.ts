import type { EventEnvelope } from '@platform/bus'
import { sha256Hex } from '@platform/platform'
import { canonicalJson } from './canonical-json.ts'
import { scrubDetails, storableText } from './scrub.ts'

/** `prev_hash` of the very first record of a chain that was never purged. */
export const GENESIS_HASH = '0'.repeat(64)

/**
 * One entry of the audit log as stored, exported, republished on `audit.records` and verified
 * (CONTRACT §8). Timestamps are RFC 3339 UTC with millisecond precision, so they survive a
 * round trip through PostgreSQL unchanged and the hash stays reproducible.
 */
export type AuditRecord = {
  seq: number
  id: string
  occurred_at: string
  recorded_at: string
  source: string
  /** The event type. */
  action: string
  actor_id: string | null
  subject: { type: string; id: string } | null
  outcome: string | null
  ip_hash: string | null
  user_agent: string | null
  request_id: string | null
  /** The event's `data`, scrubbed of secrets and raw IPs. */
  details: Record<string, unknown>
  prev_hash: string
  /** SHA-256 (hex) of the canonical JSON of every other field, `prev_hash` included. */
  hash: string
}

/** A record before it is hashed. */
export type UnhashedRecord = Omit<AuditRecord, 'hash'>

/** SHA-256 hex of the canonical JSON of a record without its `hash` (any `hash` given is ignored). */
export function hashRecord(record: UnhashedRecord | AuditRecord): string {
  const { hash: _ignored, ...rest } = record as AuditRecord
  return sha256Hex(canonicalJson(rest))
}

// The members of an unhashed record in canonical order (sorted as canonicalJson sorts keys), so
// building a record does not sort the same fourteen keys again for every event: that sort was
// a third of canonicalJson's time in a profile of the ingestion benchmark.
const RECORD_KEYS = (
  ['seq', 'id', 'occurred_at', 'recorded_at', 'source', 'action', 'actor_id', 'subject', 'outcome', 'ip_hash', 'user_agent', 'request_id', 'details', 'prev_hash'] as const satisfies readonly (keyof UnhashedRecord)[]
).toSorted((a, b) => (a < b ? -1 : a > b ? 1 : 0))

/** `canonicalJson(record)` for a record built here, whose members are exactly {@link RECORD_KEYS}. */
function canonicalRecordJson(record: UnhashedRecord): string {
  let out = '{'
  for (const key of RECORD_KEYS) {
    const value = record[key]
    if (value === undefined) continue
    out += `${out.length > 1 ? ',' : ''}"${key}":${canonicalJson(value)}`
  }
  return `${out}}`
}

/** RFC 3339 UTC with milliseconds: what PostgreSQL's timestamptz gives back to JavaScript. */
export function toTimestamp(value: string | Date): string {
  return (value instanceof Date ? value : new Date(value)).toISOString()
}

/** The record an event becomes at position `seq`, chained to `prevHash`. */
export function buildRecord(event: EventEnvelope, seq: number, recordedAt: Date, prevHash: string): AuditRecord {
  const text = (value: string | undefined) => (value === undefined ? null : storableText(value))
  const unhashed: UnhashedRecord = {
    seq,
    id: event.id,
    occurred_at: toTimestamp(event.occurred_at),
    recorded_at: toTimestamp(recordedAt),
    source: storableText(event.source),
    action: event.type,
    actor_id: text(event.actor_id),
    subject: event.subject ? { type: storableText(event.subject.type), id: storableText(event.subject.id) } : null,
    outcome: event.outcome ?? null,
    ip_hash: text(event.ip_hash),
    user_agent: text(event.user_agent),
    request_id: text(event.request_id),
    details: scrubDetails(event.data),
    prev_hash: prevHash,
  }
  return { ...unhashed, hash: sha256Hex(canonicalRecordJson(unhashed)) }
}
