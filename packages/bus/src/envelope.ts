import { uuidv7 } from '@platform/platform'
import { z } from 'zod'

/** How the action an event reports ended (CONTRACT §7). */
export type EventOutcome = 'success' | 'failure' | 'denied'

/**
 * The wrapper around every domain event on the bus (CONTRACT §7). `type` is also the routing key
 * (`<service>.<entity>.<verb>`); `version` is the version of `data`'s shape for that type, so a
 * consumer can tell an old payload from a new one. Personal data stays minimal: `ip_hash` is a
 * keyed HMAC of the IP, never the IP.
 */
export type EventEnvelope<TData extends Record<string, unknown> = Record<string, unknown>> = {
  /** UUID v7, unique per event: consumers deduplicate on it. */
  id: string
  type: string
  version: number
  /** RFC 3339 timestamp of when the fact happened (not when it was published). */
  occurred_at: string
  /** The producing service, e.g. `'auth'`. */
  source: string
  actor_id?: string
  subject?: { type: string; id: string }
  outcome?: EventOutcome
  request_id?: string
  ip_hash?: string
  user_agent?: string
  data: TData
}

/** What {@link createEnvelope} needs: everything but the fields it can fill in itself. */
export type EnvelopeInput<TData extends Record<string, unknown> = Record<string, unknown>> = Omit<
  EventEnvelope<TData>,
  'id' | 'occurred_at' | 'version'
> &
  Partial<Pick<EventEnvelope<TData>, 'id' | 'occurred_at' | 'version'>>

// At least two dot-separated words (`license.abuse_suspected` has two); no `*`/`#`, which are
// wildcards in binding patterns and would make a routing key ambiguous to read.
const EVENT_TYPE = /^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/
// AMQP routing keys are short strings: at most 255 bytes.
const EVENT_TYPE_MAX_LENGTH = 255

/**
 * Validates an envelope that came off the wire. Unknown top-level fields are dropped rather than
 * refused, so an older consumer keeps working when a producer adds one. A message that fails it
 * is poison: the bus parks it in the queue's dead-letter queue without calling the handler.
 */
export const eventEnvelopeSchema = z.object({
  id: z.uuidv7(),
  type: z
    .string()
    .max(EVENT_TYPE_MAX_LENGTH)
    .regex(EVENT_TYPE, 'expected <service>.<entity>.<verb>'),
  version: z.number().int().positive(),
  occurred_at: z.iso.datetime({ offset: true }),
  source: z.string().min(1),
  actor_id: z.string().min(1).optional(),
  subject: z.object({ type: z.string().min(1), id: z.string().min(1) }).optional(),
  outcome: z.enum(['success', 'failure', 'denied']).optional(),
  request_id: z.string().min(1).optional(),
  ip_hash: z.string().min(1).optional(),
  user_agent: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
}) satisfies z.ZodType<EventEnvelope>

/**
 * Builds an envelope, filling `id` (a fresh UUID v7), `occurred_at` (now) and `version` (1) unless
 * given. The result is validated, so a malformed event fails where it is made, not in a consumer.
 *
 * @example
 * const event = createEnvelope({
 *   type: 'auth.login.failed',
 *   source: 'auth',
 *   subject: { type: 'user', id: user.id },
 *   outcome: 'failure',
 *   request_id: currentRequestId(),
 *   data: { reason: 'invalid_credentials' },
 * })
 */
export function createEnvelope<TData extends Record<string, unknown>>(
  input: EnvelopeInput<TData>,
): EventEnvelope<TData> {
  const envelope: EventEnvelope<TData> = {
    ...input,
    id: input.id ?? uuidv7(),
    version: input.version ?? 1,
    occurred_at: input.occurred_at ?? new Date().toISOString(),
  }
  parseEnvelope(envelope)
  return envelope
}

/**
 * Validates `value` as an {@link EventEnvelope}; throws an `InvalidEnvelopeError` naming the first
 * bad field otherwise.
 */
export function parseEnvelope(value: unknown): EventEnvelope {
  const parsed = eventEnvelopeSchema.safeParse(value)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''
  throw new InvalidEnvelopeError(`invalid event envelope: ${where}${issue?.message ?? 'unknown'}`, {
    cause: parsed.error,
  })
}

/** Thrown when an event does not match the envelope of CONTRACT §7. */
export class InvalidEnvelopeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'InvalidEnvelopeError'
  }
}

/**
 * Reads a message body off the wire: the envelope, or why it is not one (not JSON, or not a
 * valid envelope). Both bus implementations use it, so poison is judged the same way.
 */
export function decodeEnvelope(
  body: string,
): { ok: true; envelope: EventEnvelope } | { ok: false; error: string } {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch (err) {
    return { ok: false, error: `not JSON: ${err instanceof Error ? err.message : String(err)}` }
  }
  try {
    return { ok: true, envelope: parseEnvelope(value) }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) }
  }
}
