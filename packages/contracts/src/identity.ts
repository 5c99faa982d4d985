/**
 * Headers through which the gateway hands a verified identity to a service. The gateway strips
 * any client-sent header with these names (and every `x-user-*`, `x-authenticated-*`) before
 * proxying; services still verify the bearer token themselves and never trust these alone.
 */
export const IDENTITY_HEADERS = {
  userId: 'x-authenticated-user-id',
  sessionId: 'x-authenticated-session-id',
  roles: 'x-authenticated-roles',
} as const

/** What a verified access token says about its bearer. */
export type VerifiedIdentity = {
  userId: string
  sessionId: string
  tokenId: string
  roles: string[]
  emailVerified: boolean
  issuedAt: number
  expiresAt: number
}
