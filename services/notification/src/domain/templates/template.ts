import type { z } from 'zod'
import type { RenderedMail } from './html.ts'

/** What rendering needs besides a delivery's own params. */
export type MailContext = {
  /** The gateway's public origin (PUBLIC_URL), the base of every link. */
  publicUrl: string
  /** Opens a link token that auth sealed into its event (`unsealSecret` with MAIL_TOKEN_KEY). */
  openSealed(sealed: string): string
}

/**
 * One kind of mail: the params a delivery row stores for it (checked again when rendering, as
 * rows outlive code) and a pure render to subject, text and HTML.
 */
export type MailTemplate<P> = {
  params: z.ZodType<P>
  render(params: P, ctx: MailContext): RenderedMail
}

/** Builds `${publicUrl}${path}?token=…` with the token URL-encoded. */
export function tokenLink(ctx: MailContext, path: string, token: string): string {
  return `${ctx.publicUrl}${path}?token=${encodeURIComponent(token)}`
}

/** `window_s` said as people say it: "5 minutes", "1 hour", "45 seconds". */
export function describeWindow(seconds: number): string {
  if (seconds % 3600 === 0) return plural(seconds / 3600, 'hour')
  if (seconds % 60 === 0) return plural(seconds / 60, 'minute')
  return plural(seconds, 'second')
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`
}
