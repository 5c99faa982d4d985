import { join } from 'node:path'
import { resolveSecret } from '@platform/platform'
import { generateSigningKey, signingKeyFromPem, signingKeyToPem, type SigningKey } from '@platform/tokens'

/**
 * The configured signing key: `AUTH_SIGNING_KEY` (PEM), `AUTH_SIGNING_KEY_FILE`, or a development
 * key generated once under `DATA_DIR/secrets`. It becomes the first key of the `signing_keys`
 * table (see `openKeyRing`); later keys come from rotation.
 */
export async function loadConfiguredSigningKey(opts: { pem?: string; file?: string; dataDir: string }): Promise<{ key: SigningKey; origin: string }> {
  const secret = await resolveSecret({
    value: opts.pem,
    file: opts.file,
    devPath: join(opts.dataDir, 'secrets', 'auth-signing-key.pem'),
    generate: () => signingKeyToPem(generateSigningKey()),
  })
  return { key: signingKeyFromPem(secret.value), origin: secret.origin }
}
