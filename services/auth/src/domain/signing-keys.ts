import { createCipheriv, createDecipheriv, createPublicKey, randomBytes, type KeyObject } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Logger } from '@platform/platform'
import { generateSigningKey, signingKeyFromPem, signingKeyToPem, type Jwks, type PublicJwk, type SigningKey } from '@platform/tokens'
import {
  countSigningKeys,
  insertSigningKey,
  listPublishedKeys,
  lockSigningKeys,
  retireActiveKey,
  type StoredSigningKey,
} from '../store/signing-keys.ts'
import type { AuthDatabase } from '../store/schema.ts'
import type { KeyRing } from './deps.ts'
import { inEventTransaction, type AuthEvents } from '../events/publish.ts'

/** Replicas re-read the keys this often, so a rotation elsewhere reaches them within it (≤ 5 s). */
export const SIGNING_KEY_RELOAD_MS = 2_000
/**
 * An unknown `kid` makes the ring re-read the table, at most once per this interval: a key
 * rotated on another replica is found at the first token that names it, while forged kids (free
 * to make) cost at most 10 small queries a second.
 */
const UNKNOWN_KID_RELOAD_MS = 100
/**
 * A retired key stays published for ACCESS_TOKEN_TTL plus this margin: the gateway accepts
 * tokens 30 s past `exp`, and a replica may sign with the old key until its next re-read.
 */
export const RETIRED_KEY_MARGIN_S = 60

const FORMAT = 'v1'

/**
 * Encrypts a private key PEM with AES-256-GCM for the `signing_keys` table; the `kid` is bound
 * as associated data, so a ciphertext copied onto another row does not decrypt.
 */
export function encryptPrivateKey(pem: string, key: Buffer, kid: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(kid))
  const ciphertext = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()])
  return [FORMAT, iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.')
}

/** The PEM back from {@link encryptPrivateKey}; throws when the key or the `kid` is not the one used. */
export function decryptPrivateKey(sealed: string, key: Buffer, kid: string): string {
  const [format, iv, tag, ciphertext] = sealed.split('.')
  if (format !== FORMAT || !iv || !tag || ciphertext === undefined) throw new Error('unknown signing key encryption format')
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
  decipher.setAAD(Buffer.from(kid))
  decipher.setAuthTag(Buffer.from(tag, 'base64url'))
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')
}

export type DbKeyRing = KeyRing & {
  /** Re-reads the table now. */
  reload(): Promise<void>
  /** Starts re-reading every {@link SIGNING_KEY_RELOAD_MS}. */
  start(): void
  stop(): void
}

export type KeyRingDeps = {
  db: Kysely<AuthDatabase>
  /** AES-256 key derived from AUTH_TOKEN_SECRET; every replica derives the same one. */
  encryptionKey: Buffer
  accessTokenTtlSeconds: number
  log: Logger
  /** Writes `auth.signing_key.rotated`; absent in tools that only read keys. */
  events?: AuthEvents | undefined
}

/**
 * The access-token signing keys, kept in the auth database so every replica signs with the same
 * active key and publishes the same set. `initialKey` (AUTH_SIGNING_KEY, its file, or the dev
 * key) is imported as the first key when the table is empty; after that the table rules. Only the
 * active private key is ever decrypted; retired keys serve verification and the JWKS from their
 * public JWK until `not_after`.
 */
export async function openKeyRing(deps: KeyRingDeps, initialKey: SigningKey): Promise<DbKeyRing> {
  await deps.db.transaction().execute(async (trx) => {
    await lockSigningKeys(trx)
    if ((await countSigningKeys(trx)) > 0) return
    const sealed = encryptPrivateKey(signingKeyToPem(initialKey), deps.encryptionKey, initialKey.kid)
    await insertSigningKey(trx, { kid: initialKey.kid, privateKeyEnc: sealed, publicJwk: initialKey.publicJwk, now: new Date() })
    deps.log.info({ kid: initialKey.kid }, 'signing key imported into the auth database')
  })

  let active: SigningKey | undefined
  let published: { kid: string; jwk: PublicJwk; publicKey: KeyObject }[] = []
  let lastUnknownKidReload = 0
  let reloading: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined

  function publicEntry(stored: StoredSigningKey) {
    const known = published.find((entry) => entry.kid === stored.kid)
    if (known) return known
    const jwk = stored.publicJwk as PublicJwk
    return { kid: stored.kid, jwk, publicKey: createPublicKey({ key: jwk, format: 'jwk' }) }
  }

  async function load(): Promise<void> {
    const rows = await listPublishedKeys(deps.db, new Date())
    const current = rows.find((row) => row.retiredAt === null)
    if (!current) throw new Error('the signing_keys table has no active key')
    if (current.kid !== active?.kid) {
      let pem: string
      try {
        pem = decryptPrivateKey(current.privateKeyEnc, deps.encryptionKey, current.kid)
      } catch (error) {
        throw new Error(`signing key ${current.kid} cannot be decrypted: AUTH_TOKEN_SECRET differs from the one that stored it`, { cause: error })
      }
      const next = signingKeyFromPem(pem)
      if (next.kid !== current.kid) throw new Error(`signing key ${current.kid} does not match its kid`)
      if (active) deps.log.info({ kid: next.kid, previous: active.kid }, 'signing key changed')
      active = next
    }
    published = rows.map(publicEntry)
  }

  function reload(): Promise<void> {
    reloading ??= load().finally(() => {
      reloading = undefined
    })
    return reloading
  }

  await reload()

  return {
    active: () => active!,
    jwks: (): Jwks => ({ keys: published.map((entry) => entry.jwk) }),
    async publicKey(kid) {
      const find = () => published.find((entry) => entry.kid === kid)?.publicKey
      if (find()) return find()
      // A re-read already under way may have started before the rotation: wait, then look again.
      if (reloading) await reloading.catch(() => undefined)
      if (find() || Date.now() - lastUnknownKidReload < UNKNOWN_KID_RELOAD_MS) return find()
      lastUnknownKidReload = Date.now()
      await reload().catch((error: unknown) => deps.log.warn({ err: error }, 'signing keys not re-read'))
      return find()
    },
    async rotate() {
      const key = generateSigningKey()
      const sealed = encryptPrivateKey(signingKeyToPem(key), deps.encryptionKey, key.kid)
      let retired: string | undefined
      await inEventTransaction(deps, async (trx, emit) => {
        await lockSigningKeys(trx)
        const now = new Date()
        const notAfter = new Date(now.getTime() + (deps.accessTokenTtlSeconds + RETIRED_KEY_MARGIN_S) * 1000)
        retired = await retireActiveKey(trx, now, notAfter)
        await insertSigningKey(trx, { kid: key.kid, privateKeyEnc: sealed, publicJwk: key.publicJwk, now })
        await emit({ type: 'auth.signing_key.rotated', outcome: 'success', data: { kid: key.kid, previous_kid: retired ?? null } })
      })
      await reload()
      deps.log.info({ kid: key.kid, retired }, 'signing key rotated')
      return key.kid
    },
    reload,
    start() {
      timer ??= setInterval(() => {
        reload().catch((error: unknown) => deps.log.warn({ err: error }, 'signing keys not re-read; keeping the last ones'))
      }, SIGNING_KEY_RELOAD_MS)
      timer.unref()
    },
    stop() {
      clearInterval(timer)
      timer = undefined
    },
  }
}
