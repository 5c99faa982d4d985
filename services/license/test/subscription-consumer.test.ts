import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { createEnvelope, createMemoryBus, type EventEnvelope } from '@platform/bus'
import { dropDatabase, uniqueDatabaseUrl } from '@platform/db/testing'
import { createMemoryKv } from '@platform/kv'
import { infraUrl, waitUntil } from '@platform/testkit/infra'
import { applySubscriptionEvent } from '../src/events/on-subscription-changed.ts'
import { startLicense, type RunningLicense } from '../src/start.ts'

const databaseUrl = infraUrl('DATABASE_URL')
const setups = [
  { name: 'PGlite', databaseUrl: undefined, skip: false },
  { name: 'PostgreSQL', databaseUrl, skip: !databaseUrl },
]

for (const setup of setups) {
  describe(`license: payments.subscription.* consumer (${setup.name})`, { skip: setup.skip }, () => {
    let license: RunningLicense
    let published: EventEnvelope[]
    const bus = createMemoryBus()
    let cleanup: () => Promise<void>
    before(async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'license-sub-test-'))
      const dbUrl = setup.databaseUrl ? uniqueDatabaseUrl(setup.databaseUrl, 'license_test') : undefined
      published = []
      const tap = await bus.subscribe('test.license', ['license.#'], async (event) => {
        published.push(event)
      })
      license = await startLicense({
        env: { DATA_DIR: dataDir, LICENSE_PORT: '0', LOG_LEVEL: 'silent', AUTH_URL: 'http://127.0.0.1:9', ...(dbUrl ? { LICENSE_DATABASE_URL: dbUrl } : {}) },
        kv: createMemoryKv(),
        bus,
      })
      cleanup = async () => {
        await license.stop()
        await tap.close()
        await bus.close()
        if (dbUrl) await dropDatabase(dbUrl)
        await rm(dataDir, { recursive: true, force: true })
      }
    })
    after(() => cleanup?.())

    const change = (verb: string, data: { subscription_id: string; user_id: string; status: string; version: number }) =>
      createEnvelope({ type: `payments.subscription.${verb}`, source: 'payments', subject: { type: 'subscription', id: data.subscription_id }, data: { plan: 'pro-monthly', product: 'editor-pro', max_machines: 3, current_period_end: null, ...data } })
    const licensesOf = (userId: string) => license.deps.db.selectFrom('licenses').selectAll().where('owner_id', '=', userId).execute()

    it('issues the plan license once when the subscription goes live, suspends it on past_due and canceled, reactivates it when active again', async () => {
      const sub = `sub_${randomBytes(6).toString('hex')}`
      const user = randomUUID()
      const activated = change('activated', { subscription_id: sub, user_id: user, status: 'active', version: 1 })

      await bus.publish(activated)
      await bus.publish(activated)
      await waitUntil(async () => (await licensesOf(user)).length === 1, { what: 'the license' })
      const [issued] = await licensesOf(user)
      assert.deepEqual([issued!.product, issued!.max_machines, issued!.issued_by, issued!.status], ['editor-pro', 3, null, 'active'])
      await waitUntil(() => published.some((e) => e.type === 'license.license.issued' && e.data.license_id === issued!.id), { what: 'license.license.issued' })
      const issuedEvent = published.find((e) => e.type === 'license.license.issued' && e.data.license_id === issued!.id)!
      assert.equal(issuedEvent.data.subscription_id, sub)
      assert.equal(issuedEvent.data.owner_id, user)
      assert.equal(issuedEvent.data.issued_by, null)

      assert.equal(await applySubscriptionEvent(license.deps, change('updated', { subscription_id: sub, user_id: user, status: 'past_due', version: 2 })), 'suspended')
      assert.equal((await licensesOf(user))[0]!.status, 'suspended')
      assert.equal(await applySubscriptionEvent(license.deps, change('canceled', { subscription_id: sub, user_id: user, status: 'canceled', version: 3 })), 'unchanged')
      assert.equal(await applySubscriptionEvent(license.deps, change('activated', { subscription_id: sub, user_id: user, status: 'active', version: 4 })), 'reactivated')
      assert.equal((await licensesOf(user))[0]!.status, 'active')
      assert.equal((await licensesOf(user)).length, 1)
      await waitUntil(() => published.some((e) => e.type === 'license.license.reactivated' && e.data.license_id === issued!.id), { what: 'license.license.reactivated' })
      assert.ok(published.some((e) => e.type === 'license.license.suspended' && e.data.license_id === issued!.id && e.data.reason === 'subscription_past_due'))
    })

    it('drops an event older than the last one applied, and a redelivered one', async () => {
      const sub = `sub_${randomBytes(6).toString('hex')}`
      const user = randomUUID()
      const canceled = change('canceled', { subscription_id: sub, user_id: user, status: 'canceled', version: 2 })

      assert.equal(await applySubscriptionEvent(license.deps, canceled), 'unchanged')
      assert.equal(await applySubscriptionEvent(license.deps, change('activated', { subscription_id: sub, user_id: user, status: 'active', version: 1 })), 'stale')
      assert.equal(await applySubscriptionEvent(license.deps, canceled), 'duplicate')

      assert.equal((await licensesOf(user)).length, 0)
    })
  })
}
