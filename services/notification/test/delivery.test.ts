import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createEnvelope } from '@platform/bus'
import { infraUrl, waitUntil } from '@platform/testkit/infra'
import { startTcpProxy } from '@platform/testkit'
import { BACKENDS, PUBLIC_URL, registeredEvent, startService, uniqueEmail } from './fixtures.ts'
import { startSmtpSink } from './smtp-sink.ts'

for (const backend of BACKENDS) {
  describe(`${backend.name}: mail delivery`, { skip: backend.skip }, () => {
    it('when the same auth.user.registered envelope is published 3 times, exactly one verification mail is sent', async (t) => {
      const sink = await startSmtpSink()
      t.after(() => sink.stop())
      const service = await startService(t, backend, { SMTP_URL: sink.url })
      const email = uniqueEmail()
      const { event, token } = registeredEvent(email)

      for (let i = 0; i < 3; i++) await service.publish(event)

      await waitUntil(() => service.consumedCount(event.id) === 3, { what: 'three deliveries of the event' })
      await waitUntil(async () => (await service.deliveries({ eventId: event.id }))[0]?.status === 'sent', { what: 'the delivery sent' })
      const rows = await service.deliveries({ eventId: event.id })
      assert.equal(rows.length, 1)
      assert.equal(rows[0]!.template, 'verify_email')
      assert.equal(rows[0]!.attempts, 1)
      const mails = sink.to(email)
      assert.equal(mails.length, 1)
      const [mail] = mails
      assert.equal(mail!.messageId, `<${rows[0]!.id}@platform.test>`)
      assert.equal(mail!.subject, 'Confirm your e-mail address')
      const link = `${PUBLIC_URL}/verify-email?token=${encodeURIComponent(token)}`
      assert.ok(mail!.text?.includes(link), 'text part carries the link')
      assert.ok(mail!.html?.includes(`href="${link}"`), 'HTML part carries the link')
      assert.equal(mail!.headers.get('auto-submitted'), 'auto-generated')
    })

    it('when 50 users register (each event delivered twice), each gets exactly one verification mail', async (t) => {
      const sink = await startSmtpSink()
      t.after(() => sink.stop())
      const service = await startService(t, backend, { SMTP_URL: sink.url })
      const registrations = Array.from({ length: 50 }, () => registeredEvent(uniqueEmail('fifty')))

      await Promise.all(registrations.map(({ event }) => service.publish(event)))
      await Promise.all(registrations.map(({ event }) => service.publish(event)))

      await waitUntil(() => registrations.every(({ event }) => service.consumedCount(event.id) === 2), { timeoutMs: 20_000, what: '100 deliveries consumed' })
      await waitUntil(() => sink.received.length >= 50, { timeoutMs: 20_000, what: '50 mails' })
      for (const { event, token } of registrations) {
        const email = (event.data as { email: string }).email
        const mails = sink.to(email)
        assert.equal(mails.length, 1, `one mail to ${email}`)
        assert.ok(mails[0]!.text?.includes(`token=${encodeURIComponent(token)}`), `${email} got its own token`)
      }
      assert.equal(sink.received.length, 50)
      assert.equal(new Set(sink.received.map((m) => m.messageId)).size, 50)
    })

    it('when the SMTP server is down while events arrive, deliveries go retrying and each mail arrives once it is back', async (t) => {
      const sink = await startSmtpSink()
      t.after(() => sink.stop())
      const service = await startService(t, backend, { SMTP_URL: sink.url, NOTIFICATION_MAX_ATTEMPTS: '100' })
      await sink.stop()
      const registrations = Array.from({ length: 5 }, () => registeredEvent(uniqueEmail('outage')))

      for (const { event } of registrations) await service.publish(event)

      await waitUntil(
        async () => {
          const rows = await service.deliveries()
          return rows.length === 5 && rows.every((row) => row.status === 'retrying' && row.attempts >= 2)
        },
        { what: 'every delivery retrying' },
      )
      const failing = await service.deliveries()
      assert.match(failing[0]!.last_error ?? '', /^ECONNREFUSED: /)
      assert.doesNotMatch(failing[0]!.last_error ?? '', /127\.0\.0\.1/, 'no address in last_error')
      assert.equal(sink.received.length, 0)

      await sink.start()

      await waitUntil(async () => (await service.deliveries()).every((row) => row.status === 'sent'), { what: 'every delivery sent' })
      for (const { event } of registrations) {
        assert.equal(sink.to((event.data as { email: string }).email).length, 1)
      }
      assert.equal(sink.received.length, 5)
      const sent = await service.deliveries()
      assert.ok(sent.every((row) => row.last_error === null && row.sent_at !== null && row.attempts >= 3))
    })

    it('when a recipient is refused permanently, the delivery is dead after the last attempt and others still go out', async (t) => {
      const sink = await startSmtpSink({ reject: (address) => address.startsWith('bounce-') })
      t.after(() => sink.stop())
      const service = await startService(t, backend, { SMTP_URL: sink.url, NOTIFICATION_MAX_ATTEMPTS: '3' })
      const bounce = registeredEvent(uniqueEmail('bounce'))
      const good = registeredEvent(uniqueEmail('good'))

      await service.publish(bounce.event)
      await service.publish(good.event)

      await waitUntil(async () => (await service.deliveries({ eventId: bounce.event.id }))[0]?.status === 'dead', { what: 'a dead delivery' })
      const [dead] = await service.deliveries({ eventId: bounce.event.id })
      assert.equal(dead!.attempts, 3)
      assert.match(dead!.last_error ?? '', /^SMTP 550 5\.1\.1 \(RCPT\)/)
      await waitUntil(async () => (await service.deliveries({ eventId: good.event.id }))[0]?.status === 'sent', { what: 'the good one sent' })
      assert.equal(sink.to((good.event.data as { email: string }).email).length, 1)
      assert.equal(sink.to((bounce.event.data as { email: string }).email).length, 0)
      assert.ok(service.logs.some((line) => line.msg === 'mail delivery is dead after its last attempt' && line.delivery_id === dead!.id))
    })

    it('when an alert is raised about a registered user, the user and each ALERT_EMAILS admin get one alert', async (t) => {
      const sink = await startSmtpSink()
      t.after(() => sink.stop())
      const admins = [uniqueEmail('admin'), uniqueEmail('admin')]
      const service = await startService(t, backend, { SMTP_URL: sink.url, ALERT_EMAILS: ` ${admins[0]!.toUpperCase()} ,${admins[1]}` })
      const owner = registeredEvent(uniqueEmail('owner'))
      await service.publish(owner.event)
      await waitUntil(() => service.consumedCount(owner.event.id) === 1, { what: 'the registration consumed' })

      const alert = createEnvelope({
        type: 'audit.alert.raised',
        source: 'audit',
        data: { rule: 'failed_logins_account', subject: { type: 'user', id: owner.userId }, count: 5, window_s: 300 },
      })
      await service.publish(alert)
      await service.publish(alert)

      await waitUntil(() => sink.received.length === 4, { what: 'verification + three alerts' })
      const ownerMails = sink.to((owner.event.data as { email: string }).email)
      assert.deepEqual(ownerMails.map((m) => m.subject).sort(), ['Confirm your e-mail address', 'Security alert: unusual activity on your account'])
      for (const admin of admins) {
        const mails = sink.to(admin)
        assert.equal(mails.length, 1, `one alert to ${admin}`)
        assert.match(mails[0]!.subject ?? '', /^\[security\] failed_logins_account: user /)
        assert.match(mails[0]!.text ?? '', /5 failed sign-in attempts were made on user .* within 5 minutes/)
      }
    })

    it('when an event of an unknown type matches a consumed pattern, it is acknowledged and sends nothing', async (t) => {
      const sink = await startSmtpSink()
      t.after(() => sink.stop())
      const service = await startService(t, backend, { SMTP_URL: sink.url })
      const event = createEnvelope({ type: 'payments.subscription.paused', source: 'payments', data: { user_id: 'u1' } })

      await service.publish(event)

      await waitUntil(() => service.consumedCount(event.id) === 1, { what: 'the event consumed' })
      assert.deepEqual(await service.deliveries({ eventId: event.id }), [])
    })
  })
}

describe('RabbitMQ + PostgreSQL: mail delivery while the database is away', { skip: BACKENDS[1]!.skip }, () => {
  it('when the database is cut off just as the SMTP server takes a mail, the sender waits for it and records the mail sent, without sending it again', async (t) => {
    // Arrange: the service reaches PostgreSQL through a proxy the sink cuts before it answers 250.
    const target = new URL(infraUrl('DATABASE_URL')!)
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    t.after(() => proxy.close())
    let cutAt: number | undefined
    const sink = await startSmtpSink({
      onReceived: () => {
        if (cutAt !== undefined) return
        cutAt = Date.now()
        proxy.cut()
        setTimeout(() => proxy.restore(), 1_000)
      },
    })
    t.after(() => sink.stop())
    const service = await startService(t, BACKENDS[1]!, { SMTP_URL: sink.url }, {
      databaseUrlVia: (url) => Object.assign(new URL(url), { hostname: '127.0.0.1', port: String(proxy.port) }).toString(),
    })
    const email = uniqueEmail('cut')
    const { event } = registeredEvent(email)

    // Act
    await service.publish(event)

    // Assert: recorded as sent once the database is back (not left to a resend when the 120 s lease ends).
    // The test reads through the same proxy: a read while it is cut fails and is tried again.
    const status = async () => (await service.deliveries({ eventId: event.id }).catch(() => []))[0]?.status
    await waitUntil(async () => (await status()) === 'sent', { timeoutMs: 15_000, what: 'the delivery recorded as sent' })
    assert.ok(cutAt !== undefined, 'the database was cut while the mail was being taken')
    const [row] = await service.deliveries({ eventId: event.id })
    assert.equal(row!.attempts, 1)
    assert.equal(sink.to(email).length, 1)
  })

  it('when the database goes away as a claim of due mails commits, the sender gives the claim back once it is back, instead of waiting out the 120 s lease', async (t) => {
    // Arrange: the claim's COMMIT reaches the server, its answer is lost.
    const target = new URL(infraUrl('DATABASE_URL')!)
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    t.after(() => proxy.close())
    const sink = await startSmtpSink()
    t.after(() => sink.stop())
    const service = await startService(t, BACKENDS[1]!, { SMTP_URL: sink.url }, {
      databaseUrlVia: (url) => Object.assign(new URL(url), { hostname: '127.0.0.1', port: String(proxy.port) }).toString(),
    })
    let cut = false
    proxy.cutAfterSending((sent) => (cut = /set "claim_id" = \$1, "next_attempt_at"[\s\S]*commit/.test(sent)))
    const email = uniqueEmail('unheard')
    const { event } = registeredEvent(email)

    // Act
    await service.publish(event)
    await waitUntil(() => cut, { what: 'the claim cut off after its commit' })
    await new Promise((resolve) => setTimeout(resolve, 300))
    proxy.restore()

    // Assert
    const status = async () => (await service.deliveries({ eventId: event.id }).catch(() => []))[0]?.status
    await waitUntil(async () => (await status()) === 'sent', { timeoutMs: 15_000, what: 'the delivery sent well before its lease ran out' })
    assert.equal(sink.to(email).length, 1)
  })
})
