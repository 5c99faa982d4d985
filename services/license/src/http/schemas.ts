import { z } from 'zod'
import { LICENSE_STATUSES } from '../domain/license.ts'

/** E-mails are trimmed and compared case-insensitively (CONTRACT §2). */
const emailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'expected an e-mail address' }))
  .transform((email) => email.toLowerCase())

const productSchema = z.string().trim().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, { message: 'letters, digits and . _ : - only' })
const entitlementSchema = z.string().trim().min(1).max(100)

export const issueBody = z
  .strictObject({
    product: productSchema,
    max_machines: z.number().int().min(1).max(1000),
    expires_at: z.iso.datetime({ offset: true, message: 'expected an RFC 3339 timestamp' }).optional(),
    owner_email: emailSchema.optional(),
    owner_id: z.uuid().optional(),
    entitlements: z.array(entitlementSchema).max(100).default([]),
  })
  .refine((b) => b.owner_email === undefined || b.owner_id === undefined, { message: 'give owner_email or owner_id, not both', path: ['owner_id'] })

export const quotaBody = z.strictObject({ quota: z.number().int().min(0).max(1_000_000) })

/** A key as people type it; its form is checked by normalizing it, and a bad one is simply unknown. */
const keySchema = z.string().min(1).max(128)
const fingerprintSchema = z.string().min(1).max(512)

export const activateBody = z.strictObject({
  key: keySchema,
  fingerprint: fingerprintSchema,
  machine_name: z.string().trim().max(255).optional(),
  platform: z.string().trim().max(64).optional(),
})

export const validateBody = z.union([
  z.strictObject({ key: keySchema, fingerprint: fingerprintSchema }),
  z.strictObject({ license_token: z.string().min(1).max(8192) }),
])

export const emptyBody = z.strictObject({})

const LIST_LIMIT_MAX = 500

export const listQuery = z.strictObject({
  owner_id: z.uuid().optional(),
  issued_by: z.uuid().optional(),
  product: z.string().max(100).optional(),
  status: z.enum(LICENSE_STATUSES).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(LIST_LIMIT_MAX).default(50),
})

export const idParam = z.uuid()
