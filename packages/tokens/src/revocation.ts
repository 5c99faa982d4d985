/**
 * Where revocations live in the key-value store, shared by the auth service (writer) and the
 * gateway (reader) so both agree on one layout. PostgreSQL is the record; these keys are the
 * fast copy, restored from it whenever the store comes back empty.
 */
export const revocationKeys = {
  tokenId: (jti: string) => `revoked:jti:${jti}`,
  session: (sid: string) => `revoked:sid:${sid}`,
  userNotBefore: (sub: string) => `nbf:user:${sub}`,
  globalNotBefore: () => 'nbf:global',
  /** Present once the lists are complete; absent after a flush or a restart without persistence. */
  ready: () => 'revocations:ready',
}

export type RevocationVerdict = 'active' | 'revoked' | 'unknown'

/** The store operation the check needs: one round trip for all five keys. */
export type RevocationReader = { mget(keys: readonly string[]): Promise<(string | null)[]> }

type RevocationSubject = { jti: string; sid: string; sub: string; iat: number }

/** The five keys whose values decide a token's revocation, in the order `revocationVerdict` reads them. */
export function revocationKeysFor(claims: RevocationSubject): string[] {
  return [
    revocationKeys.tokenId(claims.jti),
    revocationKeys.session(claims.sid),
    revocationKeys.userNotBefore(claims.sub),
    revocationKeys.globalNotBefore(),
    revocationKeys.ready(),
  ]
}

/**
 * Decides whether a verified token is still good from the values of `revocationKeysFor`: revoked
 * by `jti` or session, or issued at or before a per-user or global not-before instant (seconds).
 * `unknown` means the lists are not loaded yet and the caller must fail closed. Never keyed on
 * the token string (ECDSA twins).
 */
export function revocationVerdict(claims: RevocationSubject, values: readonly (string | null | undefined)[]): RevocationVerdict {
  const [jti, sid, userNbf, globalNbf, ready] = values
  if (ready === null || ready === undefined) return 'unknown'
  if (jti || sid) return 'revoked'
  if (userNbf && claims.iat <= Number(userNbf)) return 'revoked'
  if (globalNbf && claims.iat <= Number(globalNbf)) return 'revoked'
  return 'active'
}

/** Reads the lists (one round trip) and decides; see `revocationVerdict`. */
export async function checkRevocation(kv: RevocationReader, claims: RevocationSubject): Promise<RevocationVerdict> {
  return revocationVerdict(claims, await kv.mget(revocationKeysFor(claims)))
}
