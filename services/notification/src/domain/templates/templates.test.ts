import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { escapeHtml, html, layout, oneLine } from './html.ts'
import { TEMPLATES } from './index.ts'
import type { MailContext } from './template.ts'

const ctx: MailContext = { publicUrl: 'https://platform.test', openSealed: (sealed) => `opened(${sealed})` }
const EVIL = `"><script>alert('x')</script><img src=x onerror=alert(1)>&amp;`

/** No tag from the input, no quote of it left raw to break out of an attribute. */
function assertNoInjection(markup: string): void {
  assert.doesNotMatch(markup, /<script/i)
  assert.doesNotMatch(markup, /<img/i)
  assert.doesNotMatch(markup, /"><script|'x'/)
}

describe('escapeHtml', () => {
  it('when given the five special characters, replaces each with its entity', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;')
  })
})

describe('html tag', () => {
  it('when a value is interpolated, escapes it; a nested html fragment goes in as is', () => {
    const inner = html`<b>${'<i>'}</b>`
    assert.equal(html`<p>${EVIL}</p>${inner}`.safeHtml, `<p>${escapeHtml(EVIL)}</p><b>&lt;i&gt;</b>`)
  })

  it('when a value only looks like a fragment (a plain object), it is stringified and escaped', () => {
    assert.equal(html`${{ toString: () => '<x>' }}`.safeHtml, '&lt;x&gt;')
  })
})

describe('oneLine', () => {
  it('when a value holds CR/LF, they become spaces so no header or paragraph can be forged', () => {
    assert.equal(oneLine('Pro\r\nBcc: victim@example.com'), 'Pro Bcc: victim@example.com')
  })

  it('when a value is longer than the cap, it is cut with an ellipsis', () => {
    assert.equal(oneLine('x'.repeat(300), 10), `${'x'.repeat(9)}…`)
  })
})

describe('layout', () => {
  it('when the action link is not http(s), refuses to render it', () => {
    assert.throws(() => layout({ subject: 's', paragraphs: [], action: { label: 'go', url: 'javascript:alert(1)' } }), /http\(s\)/)
  })
})

describe('templates', () => {
  it('verify_email: the link is PUBLIC_URL/verify-email with the opened token URL-encoded, in both parts', () => {
    const mail = TEMPLATES.verify_email.render({ email: 'a@example.com', token_sealed: 'a+b/c' }, ctx)
    const link = 'https://platform.test/verify-email?token=opened(a%2Bb%2Fc)'
    assert.equal(mail.subject, 'Confirm your e-mail address')
    assert.ok(mail.text.includes(link))
    assert.ok(mail.html.includes(`href="${link}"`))
  })

  it('password_reset: the link is PUBLIC_URL/reset-password with the opened token', () => {
    const mail = TEMPLATES.password_reset.render({ email: 'a@example.com', token_sealed: 't' }, ctx)
    assert.ok(mail.text.includes('https://platform.test/reset-password?token=opened(t)'))
    assert.equal(mail.subject, 'Reset your password')
  })

  it('when the e-mail address is malicious, the verification and reset HTML carry it escaped', () => {
    const email = `x${EVIL}@example.com`
    for (const mail of [
      TEMPLATES.verify_email.render({ email, token_sealed: 't' }, ctx),
      TEMPLATES.password_reset.render({ email, token_sealed: 't' }, ctx),
    ]) {
      assertNoInjection(mail.html)
      assert.ok(mail.html.includes(escapeHtml(email)))
    }
  })

  it('when the product name is malicious, the license mail escapes it in the HTML and keeps the subject on one line', () => {
    const product = `${EVIL}\r\nBcc: victim@example.com`
    const mail = TEMPLATES.license_issued.render({ license_id: 'lic-1', product }, ctx)
    assertNoInjection(mail.html)
    assert.doesNotMatch(mail.subject, /[\r\n]/)
    assert.ok(mail.subject.startsWith('Your license for "><script>'))
    assert.ok(mail.html.includes(escapeHtml(EVIL)))
    assert.ok(mail.html.includes('<title>Your license for &quot;&gt;&lt;script&gt;'))
  })

  it('when the plan, status and alert fields are malicious, receipts and alerts escape them', () => {
    const receipt = TEMPLATES.subscription_receipt.render({ change: 'activated', plan: EVIL, status: EVIL, current_period_end: EVIL }, ctx)
    const alert = TEMPLATES.security_alert_admin.render(
      { rule: EVIL, subject_type: EVIL, subject_id: EVIL, count: 5, window_s: 300, occurred_at: EVIL, event_id: EVIL },
      ctx,
    )
    const ownerAlert = TEMPLATES.security_alert.render({ rule: EVIL, occurred_at: EVIL, event_id: 'e' }, ctx)
    for (const mail of [receipt, alert, ownerAlert]) assertNoInjection(mail.html)
  })

  it('subscription_receipt: the subject says what changed', () => {
    const subjects = (['activated', 'updated', 'canceled'] as const).map(
      (change) => TEMPLATES.subscription_receipt.render({ change, plan: 'Pro monthly', status: 'active' }, ctx).subject,
    )
    assert.deepEqual(subjects, [
      'Your Pro monthly subscription is active',
      'Your Pro monthly subscription was updated',
      'Your Pro monthly subscription was canceled',
    ])
  })

  it('security_alert: failed logins are counted in people’s words', () => {
    const mail = TEMPLATES.security_alert.render({ rule: 'failed_logins_account', count: 5, window_s: 300, occurred_at: '2026-01-01T00:00:00Z', event_id: 'e' }, ctx)
    assert.match(mail.text, /5 failed sign-in attempts were made on your Security Platform account within 5 minutes\./)
  })

  it('every template has a subject, a text part and a complete HTML document', () => {
    const samples: { [N in keyof typeof TEMPLATES]: Parameters<(typeof TEMPLATES)[N]['render']>[0] } = {
      verify_email: { email: 'a@example.com', token_sealed: 't' },
      password_reset: { email: 'a@example.com', token_sealed: 't' },
      security_alert: { rule: 'r', occurred_at: 'now', event_id: 'e' },
      security_alert_admin: { rule: 'r', occurred_at: 'now', event_id: 'e' },
      license_issued: { license_id: 'l', product: 'p' },
      subscription_receipt: { change: 'updated', plan: 'p', status: 's' },
    }
    for (const [name, params] of Object.entries(samples)) {
      const mail = (TEMPLATES[name as keyof typeof TEMPLATES].render as (p: unknown, c: MailContext) => { subject: string; text: string; html: string })(params, ctx)
      assert.ok(mail.subject.length > 0, name)
      assert.ok(mail.text.includes('Security Platform'), name)
      assert.match(mail.html, /^<!doctype html>[\s\S]*<\/html>\n$/, name)
    }
  })
})
