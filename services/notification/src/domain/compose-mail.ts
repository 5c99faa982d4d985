import type { MailContext } from './templates/template.ts'
import { isTemplateName, TEMPLATES } from './templates/index.ts'

/** A mail ready for a transport: rendered, addressed, with a Message-ID that never changes. */
export type OutgoingMail = {
  deliveryId: string
  from: string
  to: string
  subject: string
  text: string
  html: string
  /** `<delivery id@domain>`: the same on every attempt, so a receiver can drop a duplicate. */
  messageId: string
}

/** A delivery that cannot be rendered: unknown template, params that no longer fit, a token that does not open. */
export class ComposeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ComposeError'
  }
}

export type ComposeContext = MailContext & { from: string; messageIdDomain: string }

/** Renders one delivery row into the mail to send. */
export function composeMail(
  delivery: { id: string; template: string; recipient: string; params: Record<string, unknown> },
  ctx: ComposeContext,
): OutgoingMail {
  if (!isTemplateName(delivery.template)) throw new ComposeError(`unknown template ${delivery.template}`)
  const template = TEMPLATES[delivery.template]
  const parsed = template.params.safeParse(delivery.params)
  if (!parsed.success) throw new ComposeError(`params do not fit template ${delivery.template}`)
  let rendered
  try {
    // The union of templates narrows to one at run time; TypeScript cannot follow that through the table.
    rendered = (template.render as (params: unknown, ctx: MailContext) => ReturnType<typeof template.render>)(parsed.data, ctx)
  } catch (error) {
    throw new ComposeError(`template ${delivery.template} failed to render`, { cause: error })
  }
  return {
    deliveryId: delivery.id,
    from: ctx.from,
    to: delivery.recipient,
    ...rendered,
    messageId: `<${delivery.id}@${ctx.messageIdDomain}>`,
  }
}

/** The domain of a `MAIL_FROM` value (`Name <a@b.example>` or `a@b.example`), for Message-IDs. */
export function domainOfAddress(from: string): string {
  const address = /<([^<>]+)>\s*$/.exec(from)?.[1] ?? from
  return address.slice(address.lastIndexOf('@') + 1).trim() || 'localhost'
}
