import type { Generated, Insertable, Selectable } from 'kysely'


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

export interface AuthDatabase {
  users: UsersTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  revocations: RevocationsTable
}

export type UserRow = Selectable<UsersTable>
export type NewUserRow = Insertable<UsersTable>
export type SessionRow = Selectable<SessionsTable>
export type RefreshTokenRow = Selectable<RefreshTokensTable>
export type RevocationRow = Selectable<RevocationsTable>
