import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { createAmqpBus, createEnvelope } from '@platform/bus'
import { sealSecret, uuidv7 } from '@platform/platform'
import { infraUrl, waitUntil } from '@platform/testkit'
import { RELAXED_RATE_LIMITS } from '../src/http-fixtures.ts'
import { issueLicense, newFingerprint, userWithRoles } from '../src/license-fixtures.ts'
import { metricValue, scrape, serviceMetric } from '../src/metrics-fixtures.ts'
import { GOOD_PASSWORD, registerAndLogin, startStack, uniqueEmail, type Stack } from '../src/stack.ts'

// The domain metrics the alert rules and the dashboard in infra/ read (docs/operations.md,
// "Metrics"), each read from the running service's own /metrics after the thing it counts
// happened through the gateway (or, for the bus, on the stack's broker).
describe('domain metrics on the services\' /metrics', () => {
  let stack: Stack
  before(async () => {
    stack = await startStack({ RATE_LIMITS: RELAXED_RATE_LIMITS })
  })
  after(async () => {
    const amqpUrl = infraUrl('AMQP_URL')
    const prefix = stack?.env.AMQP_PREFIX
    await stack?.stop()
    // The poison of these tests stays in the stack's dead-letter queues otherwise.
    if (amqpUrl && prefix) {
      const bus = createAmqpBus({ url: amqpUrl, connectionName: 'e2e-metrics-cleanup' })
      for (const queue of ['notification.events', 'audit.events']) await bus.deleteQueue(`${prefix}${queue}`).catch(() => {})
      await bus.close()
    }
  })

  const auth = () => stack.platform.auth.url
  const login = (email: string, password: string) => stack.client.request('POST', '/auth/login', { json: { email, password } })

  it('when a login fails and one succeeds, auth_logins_total counts one failure and one success', async () => {
    const { email } = await registerAndLogin(stack.client, uniqueEmail('metrics-login'))
    const failures = await serviceMetric(auth(), 'auth_logins_total', { outcome: 'failure' })
    const successes = await serviceMetric(auth(), 'auth_logins_total', { outcome: 'success' })

    const wrong = await login(email, 'not the password at all')
    const right = await login(email, GOOD_PASSWORD)

    assert.equal(wrong.status, 401)
    assert.equal(right.status, 200)
    const text = await scrape(auth())
    assert.equal(metricValue(text, 'auth_logins_total', { outcome: 'failure', service: 'auth' }), failures + 1)
    assert.equal(metricValue(text, 'auth_logins_total', { outcome: 'success', service: 'auth' }), successes + 1)
  })

  it('when a spent refresh token is presented again, auth_refresh_reuse_detected_total counts it', async () => {
    const user = await registerAndLogin(stack.client, uniqueEmail('metrics-reuse'))
    const refresh = (token: string) => stack.client.request('POST', '/auth/refresh', { json: { refresh_token: token } })
    const before = await serviceMetric(auth(), 'auth_refresh_reuse_detected_total')
    const first = await refresh(user.refreshToken)
    const second = await refresh(first.body.refresh_token as string)
    assert.equal(second.status, 200)

    // Two generations back: no leeway applies, this is reuse.
    const reused = await refresh(user.refreshToken)

    assert.equal(reused.status, 401)
    assert.equal(reused.body.code, 'refresh_token_reused')
    assert.equal(await serviceMetric(auth(), 'auth_refresh_reuse_detected_total'), before + 1)
  })

  it('when machines activate a license, license_activations_total counts activated, reactivated and the refusal code', async () => {
    const reseller = await userWithRoles(stack, ['reseller'])
    const license = await issueLicense(stack.client, reseller.accessToken, { max_machines: 1 })
    const url = stack.platform.license.url
    const outcomes = ['activated', 'reactivated', 'machine_limit_reached']
    const before = Object.fromEntries(await Promise.all(outcomes.map(async (o) => [o, await serviceMetric(url, 'license_activations_total', { outcome: o })] as const)))
    const activate = (fingerprint: string) => stack.client.request('POST', '/licenses/activate', { json: { key: license.key, fingerprint } })
    const fingerprint = newFingerprint()

    const statuses = [(await activate(fingerprint)).status, (await activate(fingerprint)).status, (await activate(newFingerprint())).status]

    assert.deepEqual(statuses, [201, 200, 409])
    const text = await scrape(url)
    for (const outcome of outcomes) {
      assert.equal(metricValue(text, 'license_activations_total', { outcome }), before[outcome]! + 1, outcome)
    }
  })

  it('when an event fails on every attempt, notification counts its redeliveries and bus_dlq_messages shows it parked', async () => {
    const url = stack.platform.notification.url
    const redeliveries = await serviceMetric(url, 'bus_consumer_redeliveries_total', { queue: 'notification.events' })
    const parked = await serviceMetric(url, 'bus_dlq_messages', { queue: 'notification.events.dlq' })
    // Sealed under a key the notification service does not have: the handler cannot open it.
    const wrongKey = randomBytes(32).toString('hex')
    const event = createEnvelope({
      type: 'auth.user.registered',
      source: 'auth',
      subject: { type: 'user', id: uuidv7() },
      data: { email: uniqueEmail('metrics-dlq'), verification_token_sealed: sealSecret(wrongKey, 'a-token') },
    })

    await stack.platform.bus.publish(event)

    await waitUntil(async () => (await serviceMetric(url, 'bus_dlq_messages', { queue: 'notification.events.dlq' })) === parked + 1, {
      timeoutMs: 20_000,
      what: 'the failed event on notification\'s bus_dlq_messages',
    })
    // Five attempts (the bus default): four of them were redeliveries.
    assert.equal(await serviceMetric(url, 'bus_consumer_redeliveries_total', { queue: 'notification.events' }), redeliveries + 4)
  })

  it('when a poison message arrives, each consumer\'s bus_dlq_messages shows it in its own dead-letter queue', async () => {
    const audit = stack.platform.audit.url
    const notification = stack.platform.notification.url
    const before = {
      audit: await serviceMetric(audit, 'bus_dlq_messages', { queue: 'audit.events.dlq' }),
      notification: await serviceMetric(notification, 'bus_dlq_messages', { queue: 'notification.events.dlq' }),
    }

    await stack.platform.bus.publishRaw('auth.user.registered', `poison ${randomBytes(4).toString('hex')} {not json`)

    await waitUntil(
      async () =>
        (await serviceMetric(audit, 'bus_dlq_messages', { queue: 'audit.events.dlq' })) === before.audit + 1 &&
        (await serviceMetric(notification, 'bus_dlq_messages', { queue: 'notification.events.dlq' })) === before.notification + 1,
      { timeoutMs: 15_000, what: 'the poison on both consumers\' bus_dlq_messages' },
    )
  })

  it('when every event went out, outbox_lag_seconds is on each producer\'s /metrics and comes back to 0', async () => {
    await registerAndLogin(stack.client, uniqueEmail('metrics-outbox'))

    for (const [name, url] of [['auth', auth()], ['license', stack.platform.license.url], ['audit', stack.platform.audit.url]] as const) {
      assert.notEqual(metricValue(await scrape(url), 'outbox_lag_seconds', { service: name }), undefined, `${name} exports outbox_lag_seconds`)
      await waitUntil(async () => metricValue(await scrape(url), 'outbox_lag_seconds') === 0, { timeoutMs: 10_000, what: `${name}'s outbox drained` })
    }
  })
})
