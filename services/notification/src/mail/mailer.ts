import type { OutgoingMail } from '../domain/compose-mail.ts'

/**
 * Where mail goes: SMTP (`createSmtpMailer`) or `.eml` files (`createMailboxMailer`). `send`
 * resolves once the mail was accepted (by the SMTP server, or written); it rejects otherwise,
 * and the sender retries with back-off.
 */
export type Mailer = {
  /** For the banner and logs, credentials removed: `smtp://mail.example:25`, `.data/mailbox/`. */
  target: string
  send(mail: OutgoingMail): Promise<void>
  close(): Promise<void>
}
