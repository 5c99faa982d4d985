import { sql, type Kysely } from 'kysely'
import { GENESIS_HASH } from '../../domain/record.ts'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_records')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('id', 'uuid', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('subject_type', 'text')
    .addColumn('subject_id', 'text')
    .addColumn('outcome', 'text')
    .addColumn('ip_hash', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('request_id', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute()
  // Idempotency by event id: a redelivered event can never become a second record.
  await db.schema.createIndex('audit_records_id').on('audit_records').column('id').unique().execute()
  // Lists are newest first by (occurred_at, seq), overall or for one actor / subject (`/audit/me`).
  await db.schema.createIndex('audit_records_occurred').on('audit_records').columns(['occurred_at', 'seq']).execute()
  await sql`create index audit_records_actor on audit_records (actor_id, occurred_at, seq) where actor_id is not null`.execute(db)
  await sql`create index audit_records_subject on audit_records (subject_id, occurred_at, seq) where subject_id is not null`.execute(db)
  // The failed-login rule counts per IP hash over five minutes.
  await sql`create index audit_records_failed_login_ip on audit_records (ip_hash, occurred_at) where action = 'auth.login.failed'`.execute(db)

  await db.schema
    .createTable('audit_chain_head')
    .addColumn('id', 'smallint', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('last_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_hash', 'text', (c) => c.notNull())
    .addColumn('anchor_seq', 'bigint', (c) => c.notNull())
    .addColumn('anchor_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
  await sql`insert into audit_chain_head (id, last_seq, last_hash, anchor_seq, anchor_hash) values (1, 0, ${GENESIS_HASH}, 0, ${GENESIS_HASH})`.execute(db)

  await db.schema
    .createTable('audit_record_relay')
    .addColumn('id', 'smallint', (c) => c.primaryKey().check(sql`id = 1`))
    .addColumn('relayed_seq', 'bigint', (c) => c.notNull())
    .execute()
  await sql`insert into audit_record_relay (id, relayed_seq) values (1, 0)`.execute(db)

  await db.schema
    .createTable('audit_digests')
    .addColumn('number', 'bigint', (c) => c.primaryKey())
    .addColumn('interval_start', 'timestamptz', (c) => c.notNull())
    .addColumn('interval_end', 'timestamptz', (c) => c.notNull())
    .addColumn('from_seq', 'bigint', (c) => c.notNull())
    .addColumn('to_seq', 'bigint', (c) => c.notNull())
    .addColumn('head_hash', 'text', (c) => c.notNull())
    .addColumn('previous_signature', 'text')
    .addColumn('kid', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('audit_digests_interval_end').on('audit_digests').column('interval_end').execute()

  await db.schema
    .createTable('audit_signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()

  await db.schema
    .createTable('audit_alert_state')
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('last_raised_for', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_alert_state_pkey', ['rule', 'key'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_alert_state', 'audit_signing_keys', 'audit_digests', 'audit_record_relay', 'audit_chain_head', 'audit_records']) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
