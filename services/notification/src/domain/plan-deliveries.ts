import { z } from 'zod'
import type { EventEnvelope } from '@platform/bus'
import type { ParamsOf, TemplateName } from './templates/index.ts'

/** The event types (and patterns) the service consumes (CONTRACT §9). */
export const CONSUMED_PATTERNS = [
  'auth.user.registered',
  'auth.password_reset.requested',
  'audit.alert.raised',
  'license.license.issued',
  'payments.subscription.*',
] as const

/** One mail to record for an event. */
export type PlannedDelivery = { [N in TemplateName]: { template: N; to: string; params: ParamsOf<N> } }[TemplateName]

/** What planning learns or needs beyond the event itself. */
export type PlanDeps = {
  /** ALERT_EMAILS: who gets every security alert. */
  alertEmails: readonly string[]
  /** The directory kept from `auth.user.registered` events. */
  emailOfUser(userId: string): Promise<string | undefined>
  /** Throws when a sealed token cannot be opened (wrong MAIL_TOKEN_KEY, altered value). */
  openSealed(sealed: string): string
}

/** The mails for an event, and the directory entry it teaches. */
export type Plan = { deliveries: PlannedDelivery[]; user?: { id: string; email: string } }

/**
 * An event of a consumed type whose `data` is not what its producer promised: there is no way to
 * send its mail, so the bus retries it and then parks it in the dead-letter queue for a person.
 */
export class MalformedEventError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MalformedEventError'
  }
}

const email = z.string().trim().max(254).pipe(z.email()).transform((v) => v.toLowerCase())
const sealed = z.string().min(1).max(4096)
const id = z.string().min(1).max(200)
const text = z.string().max(1000)

const registeredData = z.object({ email, verification_token_sealed: sealed.optional(), user_id: id.optional() })
const resetData = z.object({ email, reset_token_sealed: sealed })
const alertData = z.object({
  rule: z.string().min(1).max(200),
  subject: z.union([z.object({ type: z.string().max(100), id }), id]).optional(),
  user_id: id.optional(),
  count: z.number().optional(),
  window_s: z.number().optional(),
})
const licenseData = z.object({ license_id: id, product: text, owner_email: email.nullish(), owner_id: id.nullish() })
const subscriptionData = z.object({ user_id: id, plan: text, status: text, current_period_end: z.string().max(100).nullish() })

const SUBSCRIPTION_CHANGES = new Set(['activated', 'updated', 'canceled'])

/**
 * Decides which mails an event causes: pure but for the directory lookup, so the consumer can
 * run it inside the inbox transaction. Types the service does not know (another verb under
 * `payments.subscription.*`) plan nothing and are acknowledged.
 */
export async function planDeliveries(event: EventEnvelope, deps: PlanDeps): Promise<Plan> {
  switch (event.type) {
    case 'auth.user.registered': {
      const data = parseData(registeredData, event)
      const userId = data.user_id ?? (event.subject?.type === 'user' ? event.subject.id : undefined)
      const user = userId ? { id: userId, email: data.email } : undefined
      // An account made already verified (a bootstrap admin) has no link to send.
      if (!data.verification_token_sealed) return { deliveries: [], ...(user ? { user } : {}) }
      checkSealed(deps, data.verification_token_sealed, event)
      return {
        deliveries: [{ template: 'verify_email', to: data.email, params: { email: data.email, token_sealed: data.verification_token_sealed } }],
        ...(user ? { user } : {}),
      }
    }
    case 'auth.password_reset.requested': {
      const data = parseData(resetData, event)
      checkSealed(deps, data.reset_token_sealed, event)
      return { deliveries: [{ template: 'password_reset', to: data.email, params: { email: data.email, token_sealed: data.reset_token_sealed } }] }
    }
    case 'audit.alert.raised':
      return { deliveries: await planAlert(event, parseData(alertData, event), deps) }
    case 'license.license.issued': {
      const data = parseData(licenseData, event)
      const to = data.owner_email ?? (data.owner_id ? await deps.emailOfUser(data.owner_id) : undefined)
      if (!to) return { deliveries: [] }
      return { deliveries: [{ template: 'license_issued', to, params: { license_id: data.license_id, product: data.product } }] }
    }
    default: {
      const change = /^payments\.subscription\.([a-z_]+)$/.exec(event.type)?.[1]
      if (!change || !SUBSCRIPTION_CHANGES.has(change)) return { deliveries: [] }
      const data = parseData(subscriptionData, event)
      const to = await deps.emailOfUser(data.user_id)
      if (!to) return { deliveries: [] }
      const params = {
        change: change as 'activated' | 'updated' | 'canceled',
        plan: data.plan,
        status: data.status,
        ...(data.current_period_end ? { current_period_end: data.current_period_end } : {}),
      }
      return { deliveries: [{ template: 'subscription_receipt', to, params }] }
    }
  }
}

async function planAlert(event: EventEnvelope, data: z.output<typeof alertData>, deps: PlanDeps): Promise<PlannedDelivery[]> {
  const subject = typeof data.subject === 'string' ? { type: data.rule === 'failed_logins_ip' ? 'ip_hash' : 'user', id: data.subject } : (data.subject ?? event.subject)
  const ownerId = data.user_id ?? (subject?.type === 'user' ? subject.id : undefined)
  const owner = ownerId ? await deps.emailOfUser(ownerId) : undefined
  const params = {
    rule: data.rule,
    ...(data.count !== undefined ? { count: data.count } : {}),
    ...(data.window_s !== undefined ? { window_s: data.window_s } : {}),
    ...(subject ? { subject_type: subject.type, subject_id: subject.id } : {}),
    occurred_at: event.occurred_at,
    event_id: event.id,
  }
  const deliveries: PlannedDelivery[] = owner ? [{ template: 'security_alert', to: owner, params }] : []
  // An admin who owns the account gets the owner's mail only: one alert per person.
  for (const admin of deps.alertEmails) {
    if (admin !== owner) deliveries.push({ template: 'security_alert_admin', to: admin, params })
  }
  return deliveries
}

function parseData<S extends z.ZodType>(schema: S, event: EventEnvelope): z.output<S> {
  const parsed = schema.safeParse(event.data)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  throw new MalformedEventError(`${event.type} ${event.id}: data.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`)
}

function checkSealed(deps: PlanDeps, value: string, event: EventEnvelope): void {
  try {
    deps.openSealed(value)
  } catch (error) {
    // Most likely MAIL_TOKEN_KEY differs from auth's; the dead-letter queue keeps the event for a replay.
    throw new MalformedEventError(`${event.type} ${event.id}: the sealed token cannot be opened (is MAIL_TOKEN_KEY the one auth uses?)`, { cause: error })
  }
}
