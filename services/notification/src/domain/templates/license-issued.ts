import { z } from 'zod'
import { layout } from './html.ts'
import type { MailTemplate } from './template.ts'

export type LicenseIssuedParams = { license_id: string; product: string }

/** Sent on `license.license.issued` to the license's owner. The key never travels in events or mail. */
export const licenseIssued: MailTemplate<LicenseIssuedParams> = {
  params: z.object({ license_id: z.string(), product: z.string() }),
  render(p) {
    return layout({
      subject: `Your license for ${p.product}`,
      paragraphs: [
        `A license for ${p.product} was issued to you.`,
        'For your security the license key is not sent by e-mail: whoever issued the license received it once and can pass it on to you.',
      ],
      details: [
        ['Product', p.product],
        ['License id', p.license_id],
      ],
    })
  },
}
