import { dictionary } from '@zxcvbn-ts/language-common'
import { ValidationError } from '@platform/platform'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.ts'

/**
 * The passwords people pick most (zxcvbn-ts's `passwords-common`, ~49k entries drawn from real
 * breach corpora, all lower-case). Only entries our length rule could let through are kept.
 * Built on first use: the list costs ~70 ms to decompress and most processes (the CLI's
 * `set-roles`, a replica that only refreshes) never need it.
 */
let commonPasswords: ReadonlySet<string> | undefined

function isCommon(password: string): boolean {
  commonPasswords ??= new Set(dictionary['passwords-common'].filter((word) => word.length >= PASSWORD_MIN_LENGTH))
  return commonPasswords.has(password.toLowerCase())
}

/**
 * Why a new password is refused, or `undefined` when it is acceptable. NIST SP 800-63B rules, no
 * composition rules: 8..256 characters (counted as Unicode code points, as people count them),
 * not one of the common passwords (case-insensitively: `Password1` is `password1`), and not the
 * account's own e-mail address or its local part.
 */
export function passwordPolicyViolation(password: string, context: { email: string }): string | undefined {
  const length = [...password].length
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters`
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters`
  if (isCommon(password)) return 'is too common; choose a password that is not on lists of leaked passwords'
  const email = context.email.trim().toLowerCase()
  const candidate = password.trim().toLowerCase()
  const localPart = email.slice(0, email.lastIndexOf('@'))
  if (candidate === email || (localPart !== '' && candidate === localPart)) return 'must not be your e-mail address'
  return undefined
}

/**
 * Throws `validation_failed` naming `path` (a JSON Pointer into the request body, e.g.
 * `/password` or `/new_password`) when the password breaks the policy.
 */
export function assertPasswordPolicy(password: string, context: { email: string; path: string }): void {
  const violation = passwordPolicyViolation(password, context)
  if (violation) throw new ValidationError([{ path: context.path, message: violation }])
}
