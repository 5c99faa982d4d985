import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { checkRevocation, revocationKeys, type RevocationReader } from '../src/index.ts'

/** The smallest store the check can read from: a Map behind `mget`, counting round trips. */
function createReader(entries: Record<string, string> = {}) {
  const data = new Map(Object.entries(entries))
  const reader: RevocationReader & { roundTrips: number } = {
    roundTrips: 0,
    mget: async (keys) => {
      reader.roundTrips += 1
      return keys.map((key) => data.get(key) ?? null)
    },
  }
  return reader
}

function createClaims(iat = 1_700_000_000) {
  return { jti: randomUUID(), sid: randomUUID(), sub: randomUUID(), iat }
}

const READY = { [revocationKeys.ready()]: '1' }

describe('checkRevocation', () => {
  it('when the lists are not loaded (no ready marker), answers unknown so the caller fails closed', async () => {
    // Arrange: even a revoked jti must not be trusted while the lists may be incomplete.
    const claims = createClaims()
    const reader = createReader({ [revocationKeys.tokenId(claims.jti)]: '1' })

    // Act
    const verdict = await checkRevocation(reader, claims)

    // Assert
    assert.equal(verdict, 'unknown')
  })

  it('when nothing revokes the token, answers active in one round trip', async () => {
    // Arrange
    const claims = createClaims()
    const reader = createReader({
      ...READY,
      [revocationKeys.tokenId(randomUUID())]: '1',
      [revocationKeys.session(randomUUID())]: '1',
      [revocationKeys.userNotBefore(randomUUID())]: String(claims.iat + 100),
    })

    // Act
    const verdict = await checkRevocation(reader, claims)

    // Assert
    assert.equal(verdict, 'active')
    assert.equal(reader.roundTrips, 1)
  })

  it('when the token id is revoked, answers revoked', async () => {
    // Arrange
    const claims = createClaims()
    const reader = createReader({ ...READY, [revocationKeys.tokenId(claims.jti)]: '1' })

    // Act
    const verdict = await checkRevocation(reader, claims)

    // Assert
    assert.equal(verdict, 'revoked')
  })

  it('when the session is revoked, answers revoked', async () => {
    // Arrange
    const claims = createClaims()
    const reader = createReader({ ...READY, [revocationKeys.session(claims.sid)]: '1' })

    // Act
    const verdict = await checkRevocation(reader, claims)

    // Assert
    assert.equal(verdict, 'revoked')
  })

  it('when the token was issued at the user not-before instant, answers revoked', async () => {
    // Arrange
    const claims = createClaims()
    const reader = createReader({
      ...READY,
      [revocationKeys.userNotBefore(claims.sub)]: String(claims.iat),
    })

    // Act
    const verdict = await checkRevocation(reader, claims)

    // Assert
    assert.equal(verdict, 'revoked')
  })

  it('when the token was issued before the user not-before instant, answers revoked', async () => {
    // Arrange
    const claims = createClaims()
    const reader = createReader({
      ...READY,
      [revocationKeys.userNotBefore(claims.sub)]: String(claims.iat + 60),
    })

    // Act
    const verdict = await checkRevocation(reader, claims)

    // Assert
    assert.equal(verdict, 'revoked')
  })

  it('when the token was issued one second after the user not-before instant, answers active', async () => {
    // Arrange
    const notBefore = 1_700_000_000
    const claims = createClaims(notBefore + 1)
    const reader = createReader({
      ...READY,
      [revocationKeys.userNotBefore(claims.sub)]: String(notBefore),
    })

    // Act
    const verdict = await checkRevocation(reader, claims)

    // Assert
    assert.equal(verdict, 'active')
  })

  it('when the token was issued at or before the global not-before instant, answers revoked', async () => {
    // Arrange
    const claims = createClaims()
    const reader = createReader({
      ...READY,
      [revocationKeys.globalNotBefore()]: String(claims.iat),
    })

    // Act
    const verdict = await checkRevocation(reader, claims)

    // Assert
    assert.equal(verdict, 'revoked')
  })

  it('when the token was issued after the global not-before instant, answers active', async () => {
    // Arrange
    const notBefore = 1_700_000_000
    const claims = createClaims(notBefore + 1)
    const reader = createReader({ ...READY, [revocationKeys.globalNotBefore()]: String(notBefore) })

    // Act
    const verdict = await checkRevocation(reader, claims)

    // Assert
    assert.equal(verdict, 'active')
  })
})
