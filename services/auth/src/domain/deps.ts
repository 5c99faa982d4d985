import type { Kysely } from 'kysely'
import type { Logger } from '@platform/platform'
import type { SigningKey } from '@platform/tokens'
import type { AuthDatabase } from '../store/schema.ts'
import type { RevocationList } from './revocation-list.ts'

/** Token settings the domain needs (CONTRACT §1, §4). */
export type TokenSettings = {
  issuer: string
  audience: string
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
  refreshReuseLeewaySeconds: number
  /** Derives refresh successors and keyed hashes; never leaves the service. */
  tokenSecret: string
}

/** Signing keys: the active one signs, all of them are published. */
export type KeyRing = { active(): SigningKey; all(): SigningKey[]; find(kid: string): SigningKey | undefined }

/** What auth's use cases depend on; built once in the composition root. */
export type AuthDeps = {
  db: Kysely<AuthDatabase>
  revocations: RevocationList
  keys: KeyRing
  tokens: TokenSettings
  log: Logger
  now?: () => Date
}

export const nowOf = (deps: AuthDeps): Date => (deps.now ? deps.now() : new Date())
