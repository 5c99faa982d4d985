import assert from 'node:assert/strict'
import type { KeyObject } from 'node:crypto'
import { describe, it } from 'node:test'
import { forgeAttackTokens, signWith } from '@platform/testkit/forge-tokens'
import {
  generateSigningKey,
  signAccessToken,
  TokenError,
  verifyAccessToken,
  type SigningKey,
} from '../src/index.ts'

const ISSUER = 'https://localhost:8443'
const AUDIENCE = 'platform'
const TTL_SECONDS = 900

function setup() {
  const key = generateSigningKey()
  const keys = new Map<string, KeyObject>([[key.kid, key.publicKey]])
  const verifyOptions = {
    resolveKey: (kid: string) => keys.get(kid),
    issuer: ISSUER,
    audience: AUDIENCE,
  }
  return { key, verifyOptions }
}

function issue(key: SigningKey, issuedAt?: number) {
  return signAccessToken({
    key,
    issuer: ISSUER,
    audience: AUDIENCE,
    ttlSeconds: TTL_SECONDS,
    subject: 'user-1',
    sessionId: 'session-1',
    roles: ['user'],
    emailVerified: true,
    issuedAt,
  })
}

function refusedWith(code: TokenError['code'], what = 'token') {
  return (error: unknown) => {
    assert.ok(error instanceof TokenError, `${what}: expected a TokenError, got ${String(error)}`)
    assert.equal(error.code, code, what)
    return true
  }
}

describe('verifyAccessToken', () => {
  it('when the token is genuine, returns every claim it was signed with', async () => {
    // Arrange
    const { key, verifyOptions } = setup()
    const { token, claims } = issue(key)

    // Act
    const verified = await verifyAccessToken(token, verifyOptions)

    // Assert
    assert.deepEqual(
      {
        iss: verified.iss,
        aud: verified.aud,
        sub: verified.sub,
        iat: verified.iat,
        nbf: verified.nbf,
        exp: verified.exp,
        jti: verified.jti,
        sid: verified.sid,
        roles: verified.roles,
        email_verified: verified.email_verified,
      },
      claims,
    )
    assert.equal(claims.exp - claims.iat, TTL_SECONDS)
  })

  it('when the token was forged in any known way, refuses it with invalid_token or token_expired', async () => {
    // Arrange
    const { key, verifyOptions } = setup()
    const { token } = issue(key)
    const attacks = forgeAttackTokens({
      valid: token,
      publicJwk: key.publicJwk,
      issuer: ISSUER,
      audience: AUDIENCE,
      sign: (header, payload) => signWith(key.privateKey, header, payload),
    })
    const expected = [
      'alg_none',
      'hs256_with_public_key',
      'unknown_kid',
      'foreign_key_known_kid',
      'tampered_payload',
      'expired',
      'wrong_aud',
      'wrong_iss',
      'wrong_typ',
      'missing_exp',
      'not_yet_valid',
    ]
    for (const name of expected) assert.ok(name in attacks, `forgeAttackTokens lacks ${name}`)

    // Act + Assert: one attack at a time, so a failure names the attack that got through.
    for (const [name, forged] of Object.entries(attacks)) {
      const code = name === 'expired' ? 'token_expired' : 'invalid_token'
      await assert.rejects(verifyAccessToken(forged, verifyOptions), refusedWith(code, name))
    }
  })

  it('when the real key signs a header and claims just like the issuer, accepts it', async () => {
    // Arrange: proves signWith is a faithful ES256 signer, so the claim attacks above are
    // refused for their claim and not for a broken signature.
    const { key, verifyOptions } = setup()
    const { token } = issue(key)
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')))

    // Act
    const verified = await verifyAccessToken(
      signWith(key.privateKey, header, payload),
      verifyOptions,
    )

    // Assert
    assert.equal(verified.jti, payload.jti)
  })

  it('when the token expired 20 s ago, still accepts it within the 30 s leeway', async () => {
    // Arrange
    const { key, verifyOptions } = setup()
    const { token, claims } = issue(key, 1_700_000_000)

    // Act
    const verified = await verifyAccessToken(token, {
      ...verifyOptions,
      now: () => (claims.exp + 20) * 1000,
    })

    // Assert
    assert.equal(verified.jti, claims.jti)
  })

  it('when the token expired 40 s ago, refuses it with token_expired', async () => {
    // Arrange
    const { key, verifyOptions } = setup()
    const { token, claims } = issue(key, 1_700_000_000)

    // Act
    const verifying = verifyAccessToken(token, {
      ...verifyOptions,
      now: () => (claims.exp + 40) * 1000,
    })

    // Assert
    await assert.rejects(verifying, refusedWith('token_expired'))
  })

  it('when the token is longer than 8192 characters, refuses it with invalid_token', async () => {
    // Arrange: a genuinely signed token, so only its length is wrong.
    const { key, verifyOptions } = setup()
    const { token } = issue(key)
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')))
    const long = signWith(key.privateKey, header, { ...payload, padding: 'x'.repeat(8192) })

    // Act
    const verifying = verifyAccessToken(long, verifyOptions)

    // Assert
    assert.ok(long.length > 8192)
    await assert.rejects(verifying, refusedWith('invalid_token'))
  })

  it('when the header says typ JWT over a payload that is not JSON, refuses it with invalid_token', async () => {
    // Arrange: jws.decode JSON-parses the payload only when typ is 'JWT', and throws a
    // SyntaxError there; that must not escape as a 500.
    const { key, verifyOptions } = setup()
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', kid: key.kid }))
    const garbage = `${header.toString('base64url')}.${Buffer.from('not json').toString('base64url')}.c2ln`

    // Act
    const verifying = verifyAccessToken(garbage, verifyOptions)

    // Assert
    await assert.rejects(verifying, refusedWith('invalid_token'))
  })

  it('when the token is not a JWT at all, refuses it with invalid_token', async () => {
    // Arrange
    const { verifyOptions } = setup()

    // Act
    const verifying = verifyAccessToken('not-a-token', verifyOptions)

    // Assert
    await assert.rejects(verifying, refusedWith('invalid_token'))
  })
})
