/** HTML that is safe to insert as is: made only by {@link html} or {@link trustedHtml}. */
export type SafeHtml = { readonly safeHtml: string }

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for an HTML element body or a quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!)
}

/**
 * A template literal tag that escapes every interpolated value, so no user input (an e-mail
 * address, a product name) reaches a mail's HTML unescaped. A {@link SafeHtml} value (another
 * `html` fragment) goes in as is; an array joins its items, each treated the same way.
 *
 * @example
 * html`<p>Hello ${email}</p>`  // email '<b>x' → <p>Hello &lt;b&gt;x</p>
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? ''
  values.forEach((value, i) => {
    out += fragment(value) + (strings[i + 1] ?? '')
  })
  return { safeHtml: out }
}

/** Marks a constant string as HTML; never pass anything that came from outside. */
export function trustedHtml(constant: string): SafeHtml {
  return { safeHtml: constant }
}

function fragment(value: unknown): string {
  if (Array.isArray(value)) return value.map(fragment).join('')
  if (isSafeHtml(value)) return value.safeHtml
  if (value === undefined || value === null || value === false) return ''
  return escapeHtml(String(value))
}

function isSafeHtml(value: unknown): value is SafeHtml {
  return typeof value === 'object' && value !== null && 'safeHtml' in value && typeof value.safeHtml === 'string'
}

/**
 * A value made fit for one line of text: a subject or a line of the plain-text part. Control
 * characters (CR/LF among them) become spaces, so input cannot start a header or a forged
 * paragraph; `maxLength` caps what a long product name can do to a subject.
 */
export function oneLine(value: string, maxLength = 200): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const flat = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return flat.length > maxLength ? `${flat.slice(0, maxLength - 1)}…` : flat
}

/** What every template hands back. */
export type RenderedMail = { subject: string; text: string; html: string }

/** A button-like link; `url` is built by the template from PUBLIC_URL, never taken from input. */
export type MailAction = { label: string; url: string }

/**
 * The shared frame of every mail: the same content as plain text and as HTML. `paragraphs` are
 * plain strings (escaped here); `details` become a small table of label/value pairs.
 */
export function layout(mail: {
  subject: string
  greeting?: string
  paragraphs: readonly string[]
  action?: MailAction
  details?: readonly (readonly [string, string])[]
  closing?: readonly string[]
}): RenderedMail {
  const subject = oneLine(mail.subject)
  // An href is escaped like any value, but escaping does not stop `javascript:`: only web links.
  if (mail.action && !/^https?:\/\//i.test(mail.action.url)) throw new Error('a mail link must be an http(s) URL')
  const details = mail.details ?? []
  const closing = mail.closing ?? []
  const text = [
    mail.greeting ?? 'Hello,',
    '',
    ...mail.paragraphs.flatMap((p) => [oneLine(p, 2_000), '']),
    ...(mail.action ? [`${mail.action.label}:`, mail.action.url, ''] : []),
    ...(details.length ? [...details.map(([label, value]) => `${label}: ${oneLine(value, 500)}`), ''] : []),
    ...closing.flatMap((p) => [oneLine(p, 2_000), '']),
    '-- ',
    'Security Platform. This message was sent automatically; replies are not read.',
    '',
  ].join('\n')
  const body = html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${subject}</title></head>
<body style="margin:0;padding:24px;background:#f6f7f9;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328;line-height:1.5">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border:1px solid #d8dee4;border-radius:8px;padding:24px">
<p>${mail.greeting ?? 'Hello,'}</p>
${mail.paragraphs.map((p) => html`<p>${p}</p>\n`)}${
    mail.action
      ? html`<p><a href="${mail.action.url}" style="display:inline-block;padding:10px 16px;background:#0b5cd5;color:#ffffff;text-decoration:none;border-radius:6px">${mail.action.label}</a></p>
<p style="font-size:13px;color:#59636e">Or paste this address into your browser:<br><span style="word-break:break-all">${mail.action.url}</span></p>
`
      : ''
  }${
    details.length
      ? html`<table style="border-collapse:collapse;font-size:14px">${details.map(
          ([label, value]) => html`<tr><td style="padding:2px 12px 2px 0;color:#59636e">${label}</td><td style="padding:2px 0">${value}</td></tr>`,
        )}</table>
`
      : ''
  }${closing.map((p) => html`<p>${p}</p>\n`)}<p style="font-size:12px;color:#59636e">Security Platform. This message was sent automatically; replies are not read.</p>
</div>
</body>
</html>
`
  return { subject, text, html: body.safeHtml }
}
