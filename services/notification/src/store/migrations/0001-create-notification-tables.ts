import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deliveries')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('event_id', 'uuid', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('params', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status in ('pending', 'sent', 'retrying', 'dead')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('claim_id', 'uuid')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sent_at', 'timestamptz')
    // The inbox already makes an event count once; this holds even if a handler ran twice.
    .addUniqueConstraint('deliveries_event_template_recipient_key', ['event_id', 'template', 'recipient'])
    .execute()
  // Partial: sent and dead rows pile up, and the sender's claim must not scan them.
  await db.schema
    .createIndex('deliveries_due_idx')
    .on('deliveries')
    .column('next_attempt_at')
    .where(sql<boolean>`status in ('pending', 'retrying')`)
    .execute()
  await db.schema.createIndex('deliveries_recipient_idx').on('deliveries').columns(['recipient', 'id']).execute()
  await db.schema.createIndex('deliveries_status_idx').on('deliveries').columns(['status', 'id']).execute()

  await db.schema
    .createTable('user_directory')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('user_directory').ifExists().execute()
  await db.schema.dropTable('deliveries').ifExists().execute()
}
