import { join } from 'node:path'
import { resolveSecret } from '@platform/platform'
import { generateSigningKey, signingKeyFromPem, signingKeyToPem, type SigningKey } from '@platform/tokens'

/** License-token signing keys: the active one signs, all of them are published. */
export type KeyRing = { active(): SigningKey; all(): SigningKey[]; find(kid: string): SigningKey | undefined }

const PEM_BLOCK = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/g

/**
 * Loads the license-token keys from `LICENSE_SIGNING_KEY` (PEM), `LICENSE_SIGNING_KEY_FILE`, or a
 * development key generated once under `DATA_DIR/secrets`. The value may hold several PEM keys:
 * the first signs, the others stay published so that tokens they signed (at most 7 days old)
 * keep verifying after a rotation.
 */
export async function loadLicenseKeyRing(opts: { pem?: string; file?: string; dataDir: string }): Promise<{ ring: KeyRing; origin: string }> {
  const secret = await resolveSecret({
    value: opts.pem,
    file: opts.file,
    devPath: join(opts.dataDir, 'secrets', 'license-signing-key.pem'),
    generate: () => signingKeyToPem(generateSigningKey()),
  })
  const blocks = secret.value.match(PEM_BLOCK) ?? []
  if (blocks.length === 0) throw new Error('LICENSE_SIGNING_KEY holds no PEM private key')
  return { ring: staticKeyRing(blocks.map((pem) => signingKeyFromPem(pem))), origin: secret.origin }
}

/** A ring over fixed keys; the first one signs. */
export function staticKeyRing(keys: SigningKey[]): KeyRing {
  const byKid = new Map(keys.map((k) => [k.kid, k]))
  return { active: () => keys[0]!, all: () => keys, find: (kid) => byKid.get(kid) }
}
