import { ComposeError } from '../domain/compose-mail.ts'

// What a connection failure means, by the system error code nodemailer wraps.
const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'the SMTP server refused the connection',
  ECONNRESET: 'the SMTP server closed the connection',
  ETIMEDOUT: 'the SMTP server did not answer in time',
  EHOSTUNREACH: 'the SMTP server is unreachable',
  ENETUNREACH: 'the SMTP server is unreachable',
  ENOTFOUND: 'the SMTP host name does not resolve',
  EAI_AGAIN: 'the SMTP host name does not resolve right now',
}

// nodemailer's own error codes.
const MAILER_ERRORS: Record<string, string> = {
  ECONNECTION: 'could not connect to the SMTP server',
  ESOCKET: 'the SMTP connection failed',
  ETIMEDOUT: 'the SMTP server did not answer in time',
  EDNS: 'the SMTP host name does not resolve',
  ETLS: 'TLS with the SMTP server failed',
  EAUTH: 'the SMTP server refused the credentials',
  EENVELOPE: 'the SMTP server refused the sender or recipient',
  EMESSAGE: 'the SMTP server refused the message',
  EPROTOCOL: 'the SMTP server broke the protocol',
}

/**
 * The `last_error` of a failed attempt, as admins read it in `GET /notifications/deliveries`:
 * what went wrong in words and codes, never a host name, address, path or stack (CONTRACT §2).
 * The full error goes to the service log.
 */
export function describeSendError(error: unknown): string {
  if (error instanceof ComposeError) return error.message
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; responseCode?: unknown; response?: unknown; command?: unknown; message?: unknown }
  if (typeof e.responseCode === 'number') {
    const enhanced = typeof e.response === 'string' ? /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(e.response)?.[1] : undefined
    const command = typeof e.command === 'string' ? ` (${e.command.split(' ')[0]})` : ''
    return `SMTP ${e.responseCode}${enhanced ? ` ${enhanced}` : ''}${command}: the server rejected the mail`
  }
  const message = typeof e.message === 'string' ? e.message : ''
  const network = Object.keys(NETWORK_ERRORS).find((code) => message.includes(code) || e.code === code)
  if (network) return `${network}: ${NETWORK_ERRORS[network]}`
  if (typeof e.code === 'string' && MAILER_ERRORS[e.code]) return `${e.code}: ${MAILER_ERRORS[e.code]}`
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return `${e.code}: the mail could not be handed over`
  return 'the mail could not be handed over'
}
