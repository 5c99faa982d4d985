import { z } from 'zod'
import type { DeliveryRow } from '../store/schema.ts'

const LIMIT_DEFAULT = 50
const LIMIT_MAX = 500

/** Cursors are opaque to clients: base64url of the last id of the previous page. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url')
}

const cursorSchema = z
  .string()
  .max(200)
  .transform((value, ctx) => {
    const id = Buffer.from(value, 'base64url').toString('utf8')
    if (!z.uuid().safeParse(id).success) {
      ctx.addIssue({ code: 'custom', message: 'expected a cursor from a previous page' })
      return z.NEVER
    }
    return id
  })

/** `GET /notifications/deliveries?to&status&cursor&limit`. */
export const deliveriesQuery = z.strictObject({
  to: z.string().trim().max(254).pipe(z.email({ message: 'expected an e-mail address' })).transform((v) => v.toLowerCase()).optional(),
  status: z.enum(['pending', 'sent', 'retrying', 'dead']).optional(),
  cursor: cursorSchema.optional(),
  limit: z.coerce.number({ message: 'expected a number' }).int().min(1).max(LIMIT_MAX).default(LIMIT_DEFAULT),
})

/** The wire shape of one delivery (CONTRACT §9). */
export function deliveryToWire(row: DeliveryRow) {
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    to: row.recipient,
    template: row.template,
    status: row.status,
    attempts: row.attempts,
    last_error: row.last_error,
    created_at: row.created_at.toISOString(),
    sent_at: row.sent_at ? row.sent_at.toISOString() : null,
  }
}
