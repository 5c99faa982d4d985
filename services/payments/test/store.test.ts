import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { sql } from 'kysely'
import { createLogger } from '@platform/platform'
import { infraUrl } from '@platform/testkit/infra'
import type { PaymentsDeps } from '../src/domain/deps.ts'
import { createPlanCatalog, DEFAULT_PLANS } from '../src/domain/plans.ts'
import { processProviderEvent } from '../src/domain/process-event.ts'
import { parseProviderEvent, type ProviderEvent } from '../src/domain/provider-event.ts'
import { createEventWriter } from '../src/events/publish.ts'
import { createSandboxProvider } from '../src/providers/sandbox-provider.ts'
import { findCurrentSubscription, findSubscription, lockOrCreateSubscription, updateSubscription } from '../src/store/subscriptions.ts'
import { checkoutCompleted, nowS, openTestDatabase, stripeId, subscriptionEvent, type Setup } from './harness.ts'

const databaseUrl = infraUrl('DATABASE_URL')
const setups: Setup[] = [
  { name: 'PGlite', skip: false },
  { name: 'PostgreSQL', databaseUrl, skip: !databaseUrl },
]

for (const setup of setups) {
  describe(`payments store and event processing (${setup.name})`, { skip: setup.skip }, () => {
    let opened: Awaited<ReturnType<typeof openTestDatabase>>
    let deps: PaymentsDeps
    before(async () => {
      opened = await openTestDatabase(setup)
      const db = opened.database.db
      deps = {
        db,
        inTransaction: (fn) => db.transaction().execute(fn),
        events: createEventWriter(),
        plans: createPlanCatalog(DEFAULT_PLANS),
        provider: createSandboxProvider({ publicUrl: 'https://localhost:8443' }),
        log: createLogger('payments-test', { level: 'silent' }),
      }
    })
    after(() => opened?.close())

    const event = (raw: unknown): ProviderEvent => parseProviderEvent(raw)!
    const outboxOf = async (type: string, subscriptionId: string) =>
      (await deps.db.selectFrom('outbox').select('envelope').execute()).map((r) => (typeof r.envelope === 'string' ? JSON.parse(r.envelope) : r.envelope)).filter((e) => e.type === type && e.data.subscription_id === subscriptionId)

    it('when one event is processed five times at once, one run records it and writes its outbox rows', async () => {
      const c = { userId: randomUUID(), subscription: stripeId('sub'), customer: stripeId('cus') }
      const e = event(checkoutCompleted({ ...c, plan: 'pro-monthly' }))

      const outcomes = await Promise.all(Array.from({ length: 5 }, () => processProviderEvent(deps, e, 'stripe')))

      assert.deepEqual(outcomes.map((o) => o.outcome).sort(), ['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate'])
      assert.equal((await outboxOf('payments.subscription.activated', c.subscription)).length, 1)
      assert.equal((await outboxOf('payments.checkout.completed', c.subscription)).length, 1)
    })

    it('when many updates of one subscription arrive at once in any order, the newest state wins and versions stay unique', async () => {
      const c = { userId: randomUUID(), subscription: stripeId('sub'), customer: stripeId('cus') }
      const t = nowS()
      await processProviderEvent(deps, event(checkoutCompleted({ ...c, plan: 'pro-monthly', created: t })), 'stripe')
      const statuses = ['past_due', 'active', 'past_due', 'active', 'past_due', 'canceled', 'active', 'past_due']
      const updates = statuses.map((status, i) => event(subscriptionEvent('updated', { id: c.subscription, customer: c.customer, status, periodEnd: t + 86400 * (i + 1), created: t + 1 + i })))

      await Promise.all(updates.reverse().map((u) => processProviderEvent(deps, u, 'stripe')))

      const stored = await findSubscription(deps.db, c.subscription)
      assert.equal(stored?.status, 'past_due')
      assert.equal(stored?.stateAt, t + statuses.length)
      assert.equal(stored?.currentPeriodEnd?.getTime(), (t + 86400 * statuses.length) * 1000)
      const versions = (await deps.db.selectFrom('outbox').select('envelope').execute())
        .map((r) => (typeof r.envelope === 'string' ? JSON.parse(r.envelope) : r.envelope))
        .filter((e) => e.type.startsWith('payments.subscription.') && e.data.subscription_id === c.subscription)
        .map((e) => e.data.version as number)
      assert.equal(new Set(versions).size, versions.length)
      assert.equal(Math.max(...versions), stored!.version)
    })

    it('lockOrCreateSubscription creates a row once under concurrency; findCurrentSubscription prefers a running one', async () => {
      const user = randomUUID()
      const now = new Date()
      const ids = [stripeId('sub'), stripeId('sub')]
      await Promise.all([...ids, ...ids].map((id) => deps.db.transaction().execute((trx) => lockOrCreateSubscription(trx, id, now))))
      await updateSubscription(deps.db, ids[0]!, { user_id: user, status: 'active' }, now)
      await updateSubscription(deps.db, ids[1]!, { user_id: user, status: 'canceled' }, new Date(now.getTime() + 1000))
      await deps.db.updateTable('subscriptions').set({ created_at: sql<Date>`created_at + interval '1 hour'` }).where('id', '=', ids[1]!).execute()

      const current = await findCurrentSubscription(deps.db, user)

      assert.equal(current?.id, ids[0])
      const count = await deps.db.selectFrom('subscriptions').select((eb) => eb.fn.countAll<string>().as('n')).where('id', 'in', ids).executeTakeFirstOrThrow()
      assert.equal(Number(count.n), 2)
    })
  })
}
