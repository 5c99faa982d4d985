import { z } from 'zod'
import { layout } from './html.ts'
import { tokenLink, type MailTemplate } from './template.ts'

export type VerifyEmailParams = { email: string; token_sealed: string }

/** Sent on `auth.user.registered`: the single-use link to `PUBLIC_URL/verify-email` (24 h). */
export const verifyEmail: MailTemplate<VerifyEmailParams> = {
  params: z.object({ email: z.string(), token_sealed: z.string().min(1) }),
  render(params, ctx) {
    const link = tokenLink(ctx, '/verify-email', ctx.openSealed(params.token_sealed))
    return layout({
      subject: 'Confirm your e-mail address',
      paragraphs: [
        `An account was created on Security Platform with the address ${params.email}.`,
        'Confirm that this address is yours by opening the link below. It works once, within 24 hours.',
      ],
      action: { label: 'Confirm e-mail address', url: link },
      closing: ['If you did not create this account, ignore this message; nothing else will happen.'],
    })
  },
}
