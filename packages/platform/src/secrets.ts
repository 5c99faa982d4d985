import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'

export type SecretSource = {
  /** The secret itself, from the environment (production). */
  value?: string | undefined
  /** A file holding it, e.g. a mounted Kubernetes Secret (production). */
  file?: string | undefined
  /** Where a development secret is generated once and kept (`DATA_DIR/secrets/...`). */
  devPath: string
  /** Makes a new development secret; defaults to 32 random bytes in base64url. */
  generate?: () => string
}

/**
 * Resolves a secret from the environment, a file, or a development file generated on first use.
 * Says which via `origin` so the banner can tell people a dev secret was created; never logs it.
 */
export async function resolveSecret(source: SecretSource): Promise<{ value: string; origin: 'env' | 'file' | 'dev-existing' | 'dev-generated' }> {
  if (source.value) return { value: source.value, origin: 'env' }
  if (source.file) return { value: (await readFile(source.file, 'utf8')).trim(), origin: 'file' }
  try {
    return { value: (await readFile(source.devPath, 'utf8')).trim(), origin: 'dev-existing' }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const value = (source.generate ?? (() => randomBytes(32).toString('base64url')))()
  await mkdir(dirname(source.devPath), { recursive: true, mode: 0o700 })
  try {
    // 'wx' so two processes starting at once agree on one secret: the loser reads the winner's.
    await writeFile(source.devPath, `${value}\n`, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return { value: (await readFile(source.devPath, 'utf8')).trim(), origin: 'dev-existing' }
  }
  return { value, origin: 'dev-generated' }
}
