import { sql, type Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('checkout_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('plan', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('completed_at', 'timestamptz')
    .addCheckConstraint('checkout_sessions_provider', sql`provider in ('stripe', 'sandbox')`)
    .addCheckConstraint('checkout_sessions_status', sql`status in ('open', 'completed')`)
    .execute()
  await db.schema.createIndex('checkout_sessions_user').on('checkout_sessions').columns(['user_id', 'created_at']).execute()

  await db.schema
    .createTable('customers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('customers_user').on('customers').columns(['user_id', 'created_at']).execute()

  await db.schema
    .createTable('subscriptions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid')
    .addColumn('plan', 'text')
    .addColumn('customer_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('none'))
    .addColumn('current_period_end', 'timestamptz')
    .addColumn('trial_end', 'timestamptz')
    .addColumn('state_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('announced_status', 'text', (c) => c.notNull().defaultTo('none'))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addCheckConstraint('subscriptions_status', sql`status in ('none', 'trialing', 'active', 'past_due', 'canceled')`)
    .addCheckConstraint('subscriptions_announced_status', sql`announced_status in ('none', 'trialing', 'active', 'past_due', 'canceled')`)
    .execute()
  // GET /payments/subscription: the caller's newest subscriptions.
  await db.schema.createIndex('subscriptions_user').on('subscriptions').columns(['user_id', 'created_at']).execute()
  // Events tied by customer only (no user known yet) are attached when the checkout arrives.
  await db.schema.createIndex('subscriptions_customer').on('subscriptions').column('customer_id').execute()

  await db.schema
    .createTable('webhook_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('created', 'bigint', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('subscription_id', 'text')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['webhook_events', 'subscriptions', 'customers', 'checkout_sessions']) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
