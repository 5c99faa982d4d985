import { sql, type Transaction } from 'kysely'
import type { Executor } from '@platform/db'
import type { AuditRecord } from '../domain/record.ts'
import type { AuditDatabase, AuditRecordRow } from './schema.ts'

type Db = Executor<AuditDatabase>

/** A stored row as the record it was hashed as. */
export function rowToRecord(row: AuditRecordRow): AuditRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    occurred_at: new Date(row.occurred_at).toISOString(),
    recorded_at: new Date(row.recorded_at).toISOString(),
    source: row.source,
    action: row.action,
    actor_id: row.actor_id,
    subject: row.subject_type !== null && row.subject_id !== null ? { type: row.subject_type, id: row.subject_id } : null,
    outcome: row.outcome,
    ip_hash: row.ip_hash,
    user_agent: row.user_agent,
    request_id: row.request_id,
    details: row.details,
    prev_hash: row.prev_hash,
    hash: row.hash,
  }
}

/**
 * Appends records and moves the chain head to the last of them, in ONE statement: the whole batch
 * travels as a single JSON parameter (`jsonb_to_recordset`), so a batch costs one round trip and
 * one parse however many rows it holds. `expected` is the head the records were chained onto.
 *
 * The statement is its own compare-and-set, so it is safe even outside a transaction and without
 * the head lock: `seq` is the primary key, so if another writer already appended after
 * `expected`, the first seq collides and the whole statement fails (23505); an id already stored
 * fails it the same way (the unique index on `id`); and the head moves only from `expected` —
 * were it anywhere else, `1 / 0` aborts the statement. Nothing is written unless all of it is.
 */
export async function appendRecords(db: Db, records: readonly AuditRecord[], expected: { seq: number }): Promise<void> {
  const last = records[records.length - 1]
  if (!last) return
  const payload = JSON.stringify(
    records.map(recordToRow),
  )
  await sql`
    with batch as (
      select * from jsonb_to_recordset(${payload}::jsonb) as x(
        seq bigint, id uuid, occurred_at timestamptz, recorded_at timestamptz, source text, action text,
        actor_id text, subject_type text, subject_id text, outcome text, ip_hash text, user_agent text,
        request_id text, details jsonb, prev_hash text, hash text)
    ), inserted as (
      insert into audit_records (seq, id, occurred_at, recorded_at, source, action, actor_id, subject_type, subject_id,
        outcome, ip_hash, user_agent, request_id, details, prev_hash, hash)
      select seq, id, occurred_at, recorded_at, source, action, actor_id, subject_type, subject_id,
        outcome, ip_hash, user_agent, request_id, details, prev_hash, hash from batch order by seq
      returning 1
    ), head as (
      update audit_chain_head set last_seq = ${last.seq}, last_hash = ${last.hash}
      where id = 1 and last_seq = ${expected.seq}
      returning 1
    )
    select (select count(*) from inserted)::int as inserted, 1 / (select count(*) from head)::int as head_moved`.execute(db)
}

/** Whether a database error is a unique violation: the chain moved on, or an event is stored already. */
export function isUniqueViolation(error: unknown): boolean {
  return codeOf(error) === '23505'
}

/**
 * Whether PostgreSQL ended this statement's transaction to break a deadlock: two writers appended
 * at the same head at once, this one through `appendRecords`' insert and head update, the other
 * holding the head. Nothing of the transaction was written.
 */
export function isDeadlock(error: unknown): boolean {
  return codeOf(error) === '40P01'
}

const codeOf = (error: unknown): unknown => (typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined)

/** Inserts records as they are (restoring a row in tests, imports); the caller holds the chain head. */
export async function insertRecords(trx: Transaction<AuditDatabase>, records: readonly AuditRecord[]): Promise<void> {
  if (records.length === 0) return
  await trx
    .insertInto('audit_records')
    .values(
      records.map((r) => ({ ...recordToRow(r), details: JSON.stringify(r.details) })),
    )
    .execute()
}

/** Which of `ids` are already stored. One array parameter, so every batch size runs one prepared statement. */
export async function existingIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db.selectFrom('audit_records').select('id').where(sql<boolean>`id = any(${ids}::uuid[])`).execute()
  return new Set(rows.map((r) => r.id))
}

/** Records with `afterSeq` < seq ≤ `toSeq`, in seq order, at most `limit`. */
export async function recordsAfter(db: Db, afterSeq: number, opts: { limit: number; toSeq?: number }): Promise<AuditRecord[]> {
  let query = db.selectFrom('audit_records').selectAll().where('seq', '>', String(afterSeq))
  if (opts.toSeq !== undefined) query = query.where('seq', '<=', String(opts.toSeq))
  const rows = await query.orderBy('seq').limit(opts.limit).execute()
  return rows.map(rowToRecord)
}

/** A position in a newest-first list. */
export type ListCursor = { occurredAt: string; seq: number }

/** Filters of `GET /audit/events` (`from` inclusive, `to` exclusive, on `occurred_at`). */
export type RecordFilter = {
  actorId?: string | undefined
  action?: string | undefined
  source?: string | undefined
  outcome?: string | undefined
  from?: string | undefined
  to?: string | undefined
  /** Records whose actor or subject is this user (`/audit/me`). */
  involving?: string | undefined
}

/** One page, newest first by (occurred_at, seq); `limit + 1` rows are read to know whether more follow. */
export async function listRecords(db: Db, filter: RecordFilter, page: { limit: number; after?: ListCursor | undefined }): Promise<{ items: AuditRecord[]; next?: ListCursor }> {
  let query = db.selectFrom('audit_records').selectAll()
  if (filter.actorId !== undefined) query = query.where('actor_id', '=', filter.actorId)
  if (filter.action !== undefined) query = query.where('action', '=', filter.action)
  if (filter.source !== undefined) query = query.where('source', '=', filter.source)
  if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome)
  if (filter.from !== undefined) query = query.where('occurred_at', '>=', sql<Date>`${filter.from}::timestamptz`)
  if (filter.to !== undefined) query = query.where('occurred_at', '<', sql<Date>`${filter.to}::timestamptz`)
  if (filter.involving !== undefined) {
    const user = filter.involving
    query = query.where((eb) => eb.or([eb('actor_id', '=', user), eb.and([eb('subject_type', '=', 'user'), eb('subject_id', '=', user)])]))
  }
  if (page.after) query = query.where(sql<boolean>`(occurred_at, seq) < (${page.after.occurredAt}::timestamptz, ${String(page.after.seq)}::bigint)`)
  const rows = await query.orderBy('occurred_at', 'desc').orderBy('seq', 'desc').limit(page.limit + 1).execute()
  const items = rows.slice(0, page.limit).map(rowToRecord)
  const last = items[items.length - 1]
  return rows.length > page.limit && last ? { items, next: { occurredAt: last.occurred_at, seq: last.seq } } : { items }
}

/**
 * The contiguous slice of the chain an export of [`from`, `to`) covers: from the first to the
 * last record whose `occurred_at` is in the range. The chain is in arrival order, so a slice can
 * hold a few records that happened just outside the range but arrived in between; without them
 * the export could not be verified link by link.
 */
export async function exportRange(db: Db, range: { from?: string | undefined; to?: string | undefined }): Promise<{ fromSeq: number; toSeq: number } | undefined> {
  let query = db.selectFrom('audit_records').select([sql<string | null>`min(seq)`.as('first'), sql<string | null>`max(seq)`.as('last')])
  if (range.from !== undefined) query = query.where('occurred_at', '>=', sql<Date>`${range.from}::timestamptz`)
  if (range.to !== undefined) query = query.where('occurred_at', '<', sql<Date>`${range.to}::timestamptz`)
  const row = await query.executeTakeFirst()
  if (!row?.first || !row.last) return undefined
  return { fromSeq: Number(row.first), toSeq: Number(row.last) }
}

/** Failed logins for one account (subject id) or one IP hash with `occurred_at` in (`after`, `upTo`]. */
export async function countFailedLogins(db: Db, key: { subjectId: string } | { ipHash: string }, after: string, upTo: string): Promise<number> {
  let query = db
    .selectFrom('audit_records')
    .select(sql<string>`count(*)`.as('n'))
    .where('action', '=', 'auth.login.failed')
    .where('occurred_at', '>', sql<Date>`${after}::timestamptz`)
    .where('occurred_at', '<=', sql<Date>`${upTo}::timestamptz`)
  query = 'subjectId' in key ? query.where('subject_id', '=', key.subjectId) : query.where('ip_hash', '=', key.ipHash)
  const row = await query.executeTakeFirstOrThrow()
  return Number(row.n)
}

/** A record as the columns of `audit_records` hold it (the subject split in two). */
function recordToRow(r: AuditRecord) {
  return {
    seq: r.seq,
    id: r.id,
    occurred_at: r.occurred_at,
    recorded_at: r.recorded_at,
    source: r.source,
    action: r.action,
    actor_id: r.actor_id,
    subject_type: r.subject?.type ?? null,
    subject_id: r.subject?.id ?? null,
    outcome: r.outcome,
    ip_hash: r.ip_hash,
    user_agent: r.user_agent,
    request_id: r.request_id,
    details: r.details,
    prev_hash: r.prev_hash,
    hash: r.hash,
  }
}
