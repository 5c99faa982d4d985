import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { simpleParser } from 'mailparser'
import { waitUntil } from '@platform/testkit/infra'
import { BACKENDS, PUBLIC_URL, registeredEvent, startService, uniqueEmail } from './fixtures.ts'

describe('mailbox: without SMTP_URL', () => {
  it('writes one .eml file per mail under DATA_DIR/mailbox, however often the event arrives', async (t) => {
    const service = await startService(t, BACKENDS[0]!)
    const mailbox = join(service.notification.config.DATA_DIR, 'mailbox')
    const first = registeredEvent(uniqueEmail('eml'))
    const second = registeredEvent(uniqueEmail('eml'))

    await service.publish(first.event)
    await service.publish(first.event)
    await service.publish(second.event)

    await waitUntil(async () => (await service.deliveries()).filter((row) => row.status === 'sent').length === 2, { what: 'two mails written' })
    await waitUntil(() => service.consumedCount(first.event.id) === 2, { what: 'the duplicate consumed' })
    const rows = await service.deliveries()
    assert.deepEqual((await readdir(mailbox)).sort(), rows.map((row) => `${row.id}.eml`).sort())
    const mail = await simpleParser(await readFile(join(mailbox, `${rows.find((row) => row.event_id === first.event.id)!.id}.eml`)))
    assert.equal(mail.subject, 'Confirm your e-mail address')
    assert.equal((mail.to as { text: string }).text, (first.event.data as { email: string }).email)
    assert.ok(mail.text?.includes(`${PUBLIC_URL}/verify-email?token=${encodeURIComponent(first.token)}`))
    assert.match(service.notification.mailTarget, /mailbox\/ \(no SMTP_URL\)$/)
    assert.ok(service.notification.notes[0]?.startsWith('mail is written to '))
  })
})
