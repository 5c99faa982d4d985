import nodemailer from 'nodemailer'
import type { OutgoingMail } from '../domain/compose-mail.ts'
import type { Mailer } from './mailer.ts'

// nodemailer waits two minutes for a connection by default; a sender lease must outlast one
// attempt, so each step is bounded well below it.
const CONNECTION_TIMEOUT_MS = 10_000
const GREETING_TIMEOUT_MS = 10_000
const SOCKET_TIMEOUT_MS = 30_000

/**
 * Sends through the SMTP server at `url` (`smtp://host:port`, `smtps://` for implicit TLS,
 * `smtp://user:pass@host:587` with credentials). A new connection per mail: the sender already
 * batches, and a fresh connection recovers from a restarted server without pool bookkeeping.
 */
export function createSmtpMailer(url: string): Mailer {
  const transport = nodemailer.createTransport({
    url,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  } as Parameters<typeof nodemailer.createTransport>[0])
  return {
    target: redactUrl(url),
    async send(mail: OutgoingMail) {
      await transport.sendMail(messageOf(mail))
    },
    async close() {
      transport.close()
    },
  }
}

/** The nodemailer message of an outgoing mail; the Message-ID is ours, not generated. */
export function messageOf(mail: OutgoingMail) {
  return {
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: mail.messageId,
    // RFC 3834: tells auto-responders (vacation replies) not to answer.
    headers: { 'Auto-Submitted': 'auto-generated' },
  }
}

/** `smtp://user:secret@host:25` → `smtp://host:25`: a URL fit for a banner or a log line. */
export function redactUrl(url: string): string {
  const parsed = new URL(url)
  parsed.username = ''
  parsed.password = ''
  parsed.search = ''
  return parsed.toString().replace(/\/$/, '')
}
