import { z } from 'zod'
import { layout } from './html.ts'
import type { MailTemplate } from './template.ts'

export type SubscriptionChange = 'activated' | 'updated' | 'canceled'

export type SubscriptionReceiptParams = {
  change: SubscriptionChange
  plan: string
  status: string
  current_period_end?: string | undefined
}

const HEADLINES: Record<SubscriptionChange, (plan: string) => string> = {
  activated: (plan) => `Your ${plan} subscription is active`,
  updated: (plan) => `Your ${plan} subscription was updated`,
  canceled: (plan) => `Your ${plan} subscription was canceled`,
}

/** Sent on `payments.subscription.{activated,updated,canceled}` to the subscriber. */
export const subscriptionReceipt: MailTemplate<SubscriptionReceiptParams> = {
  params: z.object({
    change: z.enum(['activated', 'updated', 'canceled']),
    plan: z.string(),
    status: z.string(),
    current_period_end: z.string().optional(),
  }),
  render(p) {
    const headline = HEADLINES[p.change](p.plan)
    return layout({
      subject: headline,
      paragraphs: [
        `${headline}.`,
        p.change === 'canceled'
          ? 'Licenses that came with it are suspended. You can subscribe again at any time.'
          : 'Thank you. This message is your record of the change; card details never reach our platform.',
      ],
      details: [
        ['Plan', p.plan],
        ['Status', p.status],
        ...(p.current_period_end ? ([['Current period ends', p.current_period_end]] as const) : []),
      ],
    })
  },
}
