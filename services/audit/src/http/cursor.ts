import { ValidationError } from '@platform/platform'
import type { ListCursor } from '../store/records.ts'

// Cursors are opaque to clients: base64url JSON, so their shape can change without a new route.

export function encodeListCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.occurredAt, cursor.seq])).toString('base64url')
}

export function decodeListCursor(value: string | undefined): ListCursor | undefined {
  if (value === undefined) return undefined
  const parsed = parse(value)
  if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && !Number.isNaN(Date.parse(parsed[0])) && isSeq(parsed[1])) {
    return { occurredAt: new Date(parsed[0]).toISOString(), seq: parsed[1] }
  }
  throw invalidCursor()
}

export function encodeNumberCursor(n: number): string {
  return Buffer.from(JSON.stringify([n])).toString('base64url')
}

export function decodeNumberCursor(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const parsed = parse(value)
  if (Array.isArray(parsed) && parsed.length === 1 && isSeq(parsed[0])) return parsed[0]
  throw invalidCursor()
}

function parse(value: string): unknown {
  try {
    return JSON.parse(Buffer.from(value, 'base64url').toString('utf8'))
  } catch {
    throw invalidCursor()
  }
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function invalidCursor(): ValidationError {
  return new ValidationError([{ path: '/cursor', message: 'invalid cursor' }])
}
