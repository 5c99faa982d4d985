import { z } from 'zod'
import { layout } from './html.ts'
import { describeWindow, type MailTemplate } from './template.ts'

export type SecurityAlertParams = {
  rule: string
  count?: number | undefined
  window_s?: number | undefined
  subject_type?: string | undefined
  subject_id?: string | undefined
  occurred_at: string
  event_id: string
}

const params = z.object({
  rule: z.string(),
  count: z.number().optional(),
  window_s: z.number().optional(),
  subject_type: z.string().optional(),
  subject_id: z.string().optional(),
  occurred_at: z.string(),
  event_id: z.string(),
})

function whatHappened(p: SecurityAlertParams, whose: string): string {
  const within = p.window_s ? ` within ${describeWindow(p.window_s)}` : ''
  if (p.rule === 'failed_logins_account' || p.rule === 'failed_logins_ip') {
    return `${p.count ?? 'Several'} failed sign-in attempts were made on ${whose}${within}.`
  }
  return `The security rule "${p.rule}" raised an alert about ${whose}.`
}

/** Sent on `audit.alert.raised` to the owner of the account the alert is about. */
export const securityAlert: MailTemplate<SecurityAlertParams> = {
  params,
  render(p) {
    return layout({
      subject: 'Security alert: unusual activity on your account',
      paragraphs: [
        whatHappened(p, 'your Security Platform account'),
        'If that was you, there is nothing to do. If not, change your password now and sign out your other sessions; repeated attempts lock the account for a while.',
      ],
      details: [['When', p.occurred_at]],
    })
  },
}

/** Sent on `audit.alert.raised` to every address in ALERT_EMAILS. */
export const securityAlertAdmin: MailTemplate<SecurityAlertParams> = {
  params,
  render(p) {
    const subject = p.subject_type && p.subject_id ? `${p.subject_type} ${p.subject_id}` : 'an unknown subject'
    return layout({
      subject: `[security] ${p.rule}: ${subject}`,
      greeting: 'Hello administrator,',
      paragraphs: [whatHappened(p, subject), 'The audit log has the records behind this alert.'],
      details: [
        ['Rule', p.rule],
        ['Subject', subject],
        ...(p.count !== undefined ? ([['Count', String(p.count)]] as const) : []),
        ...(p.window_s !== undefined ? ([['Window', describeWindow(p.window_s)]] as const) : []),
        ['When', p.occurred_at],
        ['Event id', p.event_id],
      ],
    })
  },
}
