import type { OutboxTables } from '@platform/bus/outbox'
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely'

export interface UsersTable {
  id: string
  email: string
  password_hash: string
  roles: string[]
  email_verified: boolean
  disabled: boolean
  created_at: Generated<Date>
}

export interface SessionsTable {
  id: string
  user_id: string
  created_at: Generated<Date>
  last_used_at: Date
  expires_at: Date
  user_agent: string | null
  ip_hint: string | null
  revoked_at: Date | null
}

export interface RefreshTokensTable {
  id: string
  session_id: string
  token_hash: string
  parent_id: string | null
  created_at: Generated<Date>
  expires_at: Date
  used_at: Date | null
}

export interface RevocationsTable {
  seq: Generated<string>
  kind: 'jti' | 'session' | 'user_nbf' | 'global_nbf'
  value: string
  /** For `*_nbf` kinds: the not-before instant in seconds; otherwise '1'. */
  data: string
  expires_at: Date
  created_at: Generated<Date>
}

export interface SigningKeysTable {
  kid: string
  /** `v1.<iv>.<tag>.<ciphertext>` (base64url): the PKCS#8 PEM under AES-256-GCM, the kid as AAD. */
  private_key_enc: string
  /** Read back as an object; written as JSON text. */
  public_jwk: ColumnType<JsonWebKeyColumn, string, never>
  created_at: Generated<Date>
  /** When another key took over signing; null for the one active key. */
  retired_at: Date | null
  /** Leaves the JWKS after this instant (every token it signed has expired); null while active. */
  not_after: Date | null
}

/** A public JWK as stored (jsonb). */
export type JsonWebKeyColumn = Record<string, unknown>

export interface EmailVerificationTokensTable {
  id: string
  user_id: string
  /** SHA-256 (base64url) of the token; the token itself is only ever in the e-mail. */
  token_hash: string
  created_at: Generated<Date>
  expires_at: Date
  used_at: Date | null
}

export interface PasswordResetTokensTable {
  id: string
  user_id: string
  /** SHA-256 (base64url) of the token; the token itself is only ever in the e-mail. */
  token_hash: string
  created_at: Generated<Date>
  expires_at: Date
  /** When the token was redeemed, or superseded by a newer request; null while it works. */
  used_at: Date | null
}

export interface AuthDatabase extends OutboxTables {
  users: UsersTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  revocations: RevocationsTable
  signing_keys: SigningKeysTable
  email_verification_tokens: EmailVerificationTokensTable
  password_reset_tokens: PasswordResetTokensTable
}

export type UserRow = Selectable<UsersTable>
export type NewUserRow = Insertable<UsersTable>
export type SessionRow = Selectable<SessionsTable>
export type RefreshTokenRow = Selectable<RefreshTokensTable>
export type RevocationRow = Selectable<RevocationsTable>
export type SigningKeyRow = Selectable<SigningKeysTable>
