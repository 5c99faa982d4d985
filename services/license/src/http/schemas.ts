import { z } from 'zod'
import { LICENSE_STATUSES, VALIDATION_CODES } from '../domain/license.ts'

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

// Answers, documented in the OpenAPI document (http/api.ts) and checked against it end to end.

const timestamp = z.iso.datetime().meta({ description: 'RFC 3339, UTC' })
const nullableTimestamp = timestamp.nullable()

const licenseFields = {
  id: z.uuid(),
  product: z.string(),
  status: z.enum(LICENSE_STATUSES).meta({ description: '`expired` is derived from `expires_at`' }),
  max_machines: z.number().int(),
  expires_at: nullableTimestamp,
  owner_id: z.uuid().nullable(),
  owner_email: z.string().nullable(),
  issued_by: z.uuid().nullable(),
  entitlements: z.array(z.string()),
  created_at: timestamp,
}

export const issuedAnswer = z.object({
  ...licenseFields,
  key: z.string().meta({ description: 'The license key: shown in this answer only, stored as a keyed hash and its last 4 characters' }),
})

const licenseDetailFields = {
  ...licenseFields,
  key_last4: z.string(),
  activations_count: z.number().int(),
  revoked_at: nullableTimestamp,
  abuse_suspected_at: nullableTimestamp.meta({ description: 'Set while activations are blocked for abuse (too many fingerprints)' }),
}

export const licenseDetailAnswer = z.object(licenseDetailFields)

export const machineAnswer = z.object({
  activation_id: z.uuid(),
  machine_name: z.string().nullable(),
  platform: z.string().nullable(),
  created_at: timestamp,
  last_seen_at: timestamp,
})

export const licenseWithMachinesAnswer = z.object({ ...licenseDetailFields, machines: z.array(machineAnswer) })

export const licensesAnswer = z.object({ items: z.array(licenseDetailAnswer), next_cursor: z.string().nullable() })

export const quotaAnswer = z.object({ user_id: z.uuid(), quota: z.number().int(), issued: z.number().int().meta({ description: 'Licenses this reseller ever issued' }) })

const tokenTimes = {
  validate_before: timestamp.meta({ description: "The token's `vb`: validate online before this" }),
  grace_until: timestamp.meta({ description: "The token's `exp`: the app must stop after this without a new token" }),
}

export const activationAnswer = z.object({
  activation_id: z.uuid(),
  license_id: z.uuid(),
  license_token: z.string().meta({ description: "JWT (typ license+jwt, ES256) bound to this machine's fingerprint" }),
  ...tokenTimes,
})

export const validationAnswer = z.object({
  valid: z.boolean(),
  code: z.enum(VALIDATION_CODES),
  license_id: z.uuid(),
  expires_at: nullableTimestamp,
  license_token: z.string().optional().meta({ description: 'A refreshed token; only when `valid`' }),
  validate_before: timestamp.optional(),
  grace_until: timestamp.optional(),
})

export const keyAnswer = z.object({ key: z.string().meta({ description: 'The new key; the old one stops working at once' }) })

export const jwksAnswer = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.string() })) })

export const openApiAnswer = z.looseObject({ openapi: z.string() })
