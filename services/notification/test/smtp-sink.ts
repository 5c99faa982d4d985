import type { AddressInfo } from 'node:net'
import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/** One mail as the sink received and parsed it. */
export type ReceivedMail = {
  messageId: string | undefined
  from: string | undefined
  /** The SMTP envelope's recipients (RCPT TO). */
  to: string[]
  subject: string | undefined
  text: string | undefined
  html: string | undefined
  headers: Map<string, unknown>
}

export type SmtpSink = {
  /** `smtp://127.0.0.1:<port>`, unchanged across stop/start. */
  url: string
  port: number
  /** Every mail accepted so far, oldest first (kept across stop/start). */
  received: ReceivedMail[]
  /** Mails to `address` (case-insensitive). */
  to(address: string): ReceivedMail[]
  /** Closes the listener and drops open connections: the SMTP server is down. */
  stop(): Promise<void>
  /** Listens again on the same port. */
  start(): Promise<void>
}

/**
 * A real SMTP server on 127.0.0.1 for tests (smtp-server, parsed with mailparser): it accepts
 * every mail, except that recipients matching `reject` get a permanent `550` at RCPT TO;
 * `onReceived` sees each accepted mail just before the sink answers `250`.
 */
export async function startSmtpSink(opts: { port?: number; reject?: (address: string) => boolean; onReceived?: (mail: ReceivedMail) => void } = {}): Promise<SmtpSink> {
  const received: ReceivedMail[] = []
  let server: SMTPServer | undefined
  let port = opts.port ?? 0

  function create(): SMTPServer {
    return new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      // A stopped sink must let go of its clients at once, not after smtp-server's 30 s grace.
      closeTimeout: 100,
      onRcptTo(address, _session, callback) {
        if (opts.reject?.(address.address)) {
          callback(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }))
          return
        }
        callback()
      },
      onData(stream, session, callback) {
        simpleParser(stream).then(
          (mail) => {
            const parsed: ReceivedMail = {
              messageId: mail.messageId,
              from: mail.from?.text,
              to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
              subject: mail.subject,
              text: mail.text,
              html: typeof mail.html === 'string' ? mail.html : undefined,
              headers: mail.headers as Map<string, unknown>,
            }
            received.push(parsed)
            // Before the "250 OK": what the hook does happens before the sender learns the mail was taken.
            opts.onReceived?.(parsed)
            callback()
          },
          (error: Error) => callback(error),
        )
      },
    })
  }

  async function start(): Promise<void> {
    const next = create()
    next.on('error', () => {})
    await new Promise<void>((resolve, reject) => {
      next.server.once('error', reject)
      next.listen(port, '127.0.0.1', () => resolve())
    })
    port = (next.server.address() as AddressInfo).port
    server = next
  }

  await start()
  return {
    get url() {
      return `smtp://127.0.0.1:${port}`
    },
    get port() {
      return port
    },
    received,
    to: (address) => received.filter((mail) => mail.to.includes(address.toLowerCase())),
    async stop() {
      const current = server
      server = undefined
      if (current) await new Promise<void>((resolve) => current.close(() => resolve()))
    },
    start,
  }
}
