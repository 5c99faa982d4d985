import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createEnvelope } from '@platform/bus'
import { MalformedEventError, planDeliveries, type PlanDeps } from './plan-deliveries.ts'

const directory = new Map([['user-1', 'owner@example.com']])
const deps: PlanDeps = {
  alertEmails: ['sec@example.com', 'owner@example.com'],
  emailOfUser: async (id) => directory.get(id),
  openSealed: (sealed) => {
    if (sealed === 'bad') throw new Error('unsupported state or unable to authenticate data')
    return 'token'
  },
}

const event = (type: string, data: Record<string, unknown>, subject?: { type: string; id: string }) =>
  createEnvelope({ type, source: type.split('.')[0]!, data, ...(subject ? { subject } : {}) })

describe('planDeliveries', () => {
  it('auth.user.registered: one verification mail to the lower-cased address, and the directory entry', async () => {
    const plan = await planDeliveries(event('auth.user.registered', { email: ' New@Example.com ', verification_token_sealed: 's' }, { type: 'user', id: 'u9' }), deps)
    assert.deepEqual(plan, {
      deliveries: [{ template: 'verify_email', to: 'new@example.com', params: { email: 'new@example.com', token_sealed: 's' } }],
      user: { id: 'u9', email: 'new@example.com' },
    })
  })

  it('auth.user.registered without a token (an account made verified): no mail, but the directory entry', async () => {
    const plan = await planDeliveries(event('auth.user.registered', { email: 'a@example.com' }, { type: 'user', id: 'u9' }), deps)
    assert.deepEqual(plan, { deliveries: [], user: { id: 'u9', email: 'a@example.com' } })
  })

  it('when the sealed token does not open, the event is malformed (for the dead-letter queue)', async () => {
    await assert.rejects(planDeliveries(event('auth.password_reset.requested', { email: 'a@example.com', reset_token_sealed: 'bad' }), deps), MalformedEventError)
  })

  it('when a consumed type lacks its data, the event is malformed and names the field', async () => {
    await assert.rejects(planDeliveries(event('auth.password_reset.requested', { email: 'a@example.com' }), deps), /data\.reset_token_sealed/)
  })

  it('audit.alert.raised about a known user: the owner gets the owner alert, every other admin the admin alert', async () => {
    const plan = await planDeliveries(event('audit.alert.raised', { rule: 'failed_logins_account', subject: { type: 'user', id: 'user-1' }, count: 5, window_s: 300 }), deps)
    assert.deepEqual(
      plan.deliveries.map((d) => [d.template, d.to]),
      [
        ['security_alert', 'owner@example.com'],
        ['security_alert_admin', 'sec@example.com'],
      ],
    )
  })

  it('audit.alert.raised about an IP hash: only the admins', async () => {
    const alert = event('audit.alert.raised', { rule: 'failed_logins_ip', subject: 'abc123', count: 5, window_s: 300 })
    const plan = await planDeliveries(alert, deps)
    assert.deepEqual(
      plan.deliveries.map((d) => d.to),
      ['sec@example.com', 'owner@example.com'],
    )
    assert.deepEqual(plan.deliveries[0]!.params, {
      rule: 'failed_logins_ip',
      count: 5,
      window_s: 300,
      subject_type: 'ip_hash',
      subject_id: 'abc123',
      occurred_at: alert.occurred_at,
      event_id: alert.id,
    })
  })

  it('license.license.issued: to owner_email, else to the directory address of owner_id, else nobody', async () => {
    const byEmail = await planDeliveries(event('license.license.issued', { license_id: 'l1', product: 'Pro', owner_email: 'Buyer@Example.com' }), deps)
    const byId = await planDeliveries(event('license.license.issued', { license_id: 'l2', product: 'Pro', owner_id: 'user-1', owner_email: null }), deps)
    const nobody = await planDeliveries(event('license.license.issued', { license_id: 'l3', product: 'Pro', owner_id: 'unknown' }), deps)
    assert.deepEqual(byEmail.deliveries, [{ template: 'license_issued', to: 'buyer@example.com', params: { license_id: 'l1', product: 'Pro' } }])
    assert.equal(byId.deliveries[0]?.to, 'owner@example.com')
    assert.deepEqual(nobody.deliveries, [])
  })

  it('payments.subscription.{activated,updated,canceled}: a receipt to the subscriber; other verbs: nothing', async () => {
    const data = { user_id: 'user-1', plan: 'pro-monthly', status: 'active', current_period_end: '2026-12-01T00:00:00Z' }
    const activated = await planDeliveries(event('payments.subscription.activated', data), deps)
    const paused = await planDeliveries(event('payments.subscription.paused', data), deps)
    assert.deepEqual(activated.deliveries, [
      { template: 'subscription_receipt', to: 'owner@example.com', params: { change: 'activated', plan: 'pro-monthly', status: 'active', current_period_end: '2026-12-01T00:00:00Z' } },
    ])
    assert.deepEqual(paused.deliveries, [])
  })
})
