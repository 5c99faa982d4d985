import { z } from 'zod'
import { layout } from './html.ts'
import { tokenLink, type MailTemplate } from './template.ts'

export type PasswordResetParams = { email: string; token_sealed: string }

/** Sent on `auth.password_reset.requested`: the single-use link to `PUBLIC_URL/reset-password` (30 min). */
export const passwordReset: MailTemplate<PasswordResetParams> = {
  params: z.object({ email: z.string(), token_sealed: z.string().min(1) }),
  render(params, ctx) {
    const link = tokenLink(ctx, '/reset-password', ctx.openSealed(params.token_sealed))
    return layout({
      subject: 'Reset your password',
      paragraphs: [
        `Someone asked to reset the password of the Security Platform account ${params.email}.`,
        'To choose a new password, open the link below. It works once, within 30 minutes, and signs out every session of the account.',
      ],
      action: { label: 'Choose a new password', url: link },
      closing: ['If you did not ask for this, ignore this message: your password stays as it is.'],
    })
  },
}
