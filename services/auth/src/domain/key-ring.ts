import { join } from 'node:path'
import { resolveSecret } from '@platform/platform'
import { generateSigningKey, signingKeyFromPem, signingKeyToPem, type SigningKey } from '@platform/tokens'
import type { KeyRing } from './deps.ts'

/**
 * Loads the access-token signing key from `AUTH_SIGNING_KEY` (PEM), `AUTH_SIGNING_KEY_FILE`, or a
 * development key generated once under `DATA_DIR/secrets`.
 */
export async function loadKeyRing(opts: { pem?: string; file?: string; dataDir: string }): Promise<{ ring: KeyRing; origin: string }> {
  const secret = await resolveSecret({
    value: opts.pem,
    file: opts.file,
    devPath: join(opts.dataDir, 'secrets', 'auth-signing-key.pem'),
    generate: () => signingKeyToPem(generateSigningKey()),
  })
  const key = signingKeyFromPem(secret.value)
  return { ring: staticKeyRing([key]), origin: secret.origin }
}

/** A ring over fixed keys; the first one signs. */
export function staticKeyRing(keys: SigningKey[]): KeyRing {
  const byKid = new Map(keys.map((k) => [k.kid, k]))
  return { active: () => keys[0]!, all: () => keys, find: (kid) => byKid.get(kid) }
}
