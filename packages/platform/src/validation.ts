import type { z } from 'zod'
import { ValidationError } from './app-error.ts'

/** RFC 6901 JSON Pointer of a zod issue path: `['machines', 0, 'name']` → `/machines/0/name`. */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((part) => `/${String(part).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')
}

/** Turns zod issues into the contract's `errors: [{path, message}]`, one entry per unknown key. */
export function issuesToErrors(issues: readonly z.core.$ZodIssue[]): { path: string; message: string }[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: jsonPointer([...issue.path, key]), message: 'unknown field' }))
      : [{ path: jsonPointer(issue.path), message: issue.message }],
  )
}

/**
 * Validates untrusted input against a schema (use strict objects, so unknown fields are
 * rejected) and returns the typed value, or throws ValidationError → 400 `validation_failed`.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input)
  if (parsed.success) return parsed.data
  throw new ValidationError(issuesToErrors(parsed.error.issues))
}
