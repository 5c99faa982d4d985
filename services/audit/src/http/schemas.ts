import { z } from 'zod'

const LIST_LIMIT_DEFAULT = 50
const LIST_LIMIT_MAX = 500

const timestamp = z.iso.datetime({ offset: true, message: 'expected an RFC 3339 timestamp' })
const limit = z.coerce.number({ message: 'expected a number' }).int().min(1).max(LIST_LIMIT_MAX).default(LIST_LIMIT_DEFAULT)
const text = z.string().min(1).max(256)
const cursor = z.string().min(1).max(512)

/** `GET /audit/events`: filters on the record, `from` (inclusive) and `to` (exclusive) on `occurred_at`. */
export const eventsQuery = z.strictObject({
  actor_id: text.optional(),
  action: text.optional(),
  source: text.optional(),
  outcome: z.enum(['success', 'failure', 'denied']).optional(),
  from: timestamp.optional(),
  to: timestamp.optional(),
  limit,
  cursor: cursor.optional(),
})

/** `GET /audit/me`. */
export const meQuery = z.strictObject({ limit, cursor: cursor.optional() })

/** `GET /audit/export`. */
export const exportQuery = z.strictObject({ from: timestamp.optional(), to: timestamp.optional() })

/** `GET /audit/digests`: digests whose interval overlaps [`from`, `to`). */
export const digestsQuery = z.strictObject({ from: timestamp.optional(), to: timestamp.optional(), limit, cursor: cursor.optional() })

/** `GET /audit/integrity`. */
export const noQuery = z.strictObject({})
