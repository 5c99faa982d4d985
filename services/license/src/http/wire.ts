import { ValidationError } from '@platform/platform'
import { effectiveStatus, type License, type Machine } from '../domain/license.ts'
import type { Cursor, ListedLicense } from '../store/licenses.ts'

const iso = (date: Date | null) => (date ? date.toISOString() : null)

/** The fields of CONTRACT §5's POST /licenses answer (minus `key`, which only that answer has). */
export function licenseToWire(license: License, now: Date) {
  return {
    id: license.id,
    product: license.product,
    status: effectiveStatus(license, now),
    max_machines: license.maxMachines,
    expires_at: iso(license.expiresAt),
    owner_id: license.ownerId,
    owner_email: license.ownerEmail,
    issued_by: license.issuedBy,
    entitlements: license.entitlements,
    created_at: license.createdAt.toISOString(),
  }
}

/** A license as lists and reads show it: plus `key_last4`, the activation count and the suspicion flag. */
export function licenseDetailToWire(license: License, activationsCount: number, now: Date) {
  return {
    ...licenseToWire(license, now),
    key_last4: license.keyLast4,
    activations_count: activationsCount,
    revoked_at: iso(license.revokedAt),
    abuse_suspected_at: iso(license.abuseSuspectedAt),
  }
}

export function listedToWire(license: ListedLicense, now: Date) {
  return licenseDetailToWire(license, license.activationsCount, now)
}

export function machineToWire(machine: Machine) {
  return {
    activation_id: machine.id,
    machine_name: machine.machineName,
    platform: machine.platform,
    created_at: machine.createdAt.toISOString(),
    last_seen_at: machine.lastSeenAt.toISOString(),
  }
}

/** Cursors are opaque to clients: base64url of the last item's (created_at, id). */
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt.toISOString(), cursor.id])).toString('base64url')
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function decodeCursor(text: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string' && UUID.test(value[1])) {
      const createdAt = new Date(value[0])
      if (!Number.isNaN(createdAt.getTime())) return { createdAt, id: value[1] }
    }
  } catch {
    // fall through: any malformed cursor gets the same answer
  }
  throw new ValidationError([{ path: '/cursor', message: 'not a cursor this service handed out' }])
}
