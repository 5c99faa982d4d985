import { z } from 'zod'

export const checkoutBody = z.strictObject({ plan: z.string().min(1).max(100) })

export const emptyBody = z.strictObject({})

/** Session ids as the providers make them (`cs_…`); anything else names nothing. */
export const sessionIdParam = z.string().regex(/^cs_[A-Za-z0-9_]{1,200}$/)
