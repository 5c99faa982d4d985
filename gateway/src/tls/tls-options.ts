import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createSecureContext, type SecureContextOptions, type SecureVersion } from 'node:tls'
import { ensureDevCertificate } from './dev-certificate.ts'

/** Oldest protocol the gateway accepts (CONTRACT §3: TLS 1.2 minimum). */
export const TLS_MIN_VERSION: SecureVersion = 'TLSv1.2'

// Every TLS 1.3 suite is AEAD with an ephemeral key exchange; naming them keeps that true
// should OpenSSL ever add another one to its defaults.
const TLS13_CIPHER_SUITES = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
]

// TLS 1.2: ECDHE for forward secrecy, AES-GCM or ChaCha20-Poly1305 for AEAD; nothing CBC, no
// static RSA, no finite-field DHE (Mozilla's "intermediate" profile minus DHE).
const TLS12_CIPHER_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
]

/** The `ciphers` string the gateway's TLS listener uses: TLS 1.3 suites, then TLS 1.2 ones. */
export const TLS_CIPHERS = [...TLS13_CIPHER_SUITES, ...TLS12_CIPHER_SUITES].join(':')

/** Options for `https.createServer` / `tls.createServer`, with the protocol policy spelled out. */
export type TlsServerOptions = SecureContextOptions & {
  minVersion: SecureVersion
  ciphers: string
  honorCipherOrder: boolean
}

/**
 * Builds the gateway's TLS server options from a certificate and key: TLS 1.2 minimum and only
 * AEAD suites with forward secrecy (CONTRACT §3 "TLS termination").
 *
 * @param material - PEM certificate (chain) and private key, e.g. from {@link loadTlsMaterial}
 * @example
 * const material = await loadTlsMaterial({ certFile, keyFile, dataDir: config.dataDir })
 * const server = https.createServer(tlsServerOptions(material), app)
 */
export function tlsServerOptions(material: { cert: string; key: string }): TlsServerOptions {
  return {
    cert: material.cert,
    key: material.key,
    minVersion: TLS_MIN_VERSION,
    ciphers: TLS_CIPHERS,
    // Every suite offered is strong, so the client may pick: one without AES hardware chooses
    // ChaCha20 (Mozilla's server-side TLS guidance, "intermediate": prefer client order).
    honorCipherOrder: false,
  }
}

/** Certificate and key the gateway serves, and whether they were generated for development. */
export type TlsMaterial = {
  cert: string
  key: string
  /** Path of the generated dev CA certificate; absent when the files were configured. */
  caPath?: string
  generated: boolean
}

/**
 * Loads the gateway's certificate and key: the PEM files named by `GATEWAY_TLS_CERT` and
 * `GATEWAY_TLS_KEY` when both are given, otherwise a development certificate generated once
 * under `${dataDir}/tls` by {@link ensureDevCertificate}. An empty string counts as not given.
 *
 * @throws Error naming `GATEWAY_TLS_CERT` / `GATEWAY_TLS_KEY` when only one is given, a file
 *   cannot be read, or the key does not belong to the certificate
 * @example
 * const material = await loadTlsMaterial({
 *   certFile: env.GATEWAY_TLS_CERT,
 *   keyFile: env.GATEWAY_TLS_KEY,
 *   dataDir: env.DATA_DIR ?? '.data',
 * })
 * if (material.generated) log.info({ ca: material.caPath }, 'using the development CA')
 */
export async function loadTlsMaterial(opts: {
  certFile?: string
  keyFile?: string
  dataDir: string
}): Promise<TlsMaterial> {
  const certFile = opts.certFile || undefined
  const keyFile = opts.keyFile || undefined
  if (certFile === undefined && keyFile === undefined) {
    const dev = await ensureDevCertificate(join(opts.dataDir, 'tls'))
    return { cert: dev.cert, key: dev.key, caPath: dev.caPath, generated: true }
  }
  if (certFile === undefined) {
    throw new Error('GATEWAY_TLS_KEY is set but GATEWAY_TLS_CERT is not: set both, or neither')
  }
  if (keyFile === undefined) {
    throw new Error('GATEWAY_TLS_CERT is set but GATEWAY_TLS_KEY is not: set both, or neither')
  }

  const cert = await readPem('GATEWAY_TLS_CERT', certFile)
  const key = await readPem('GATEWAY_TLS_KEY', keyFile)
  try {
    // Fails now, with the variables named, rather than at the first handshake.
    createSecureContext({ cert, key })
  } catch (err) {
    throw new Error(`GATEWAY_TLS_CERT/GATEWAY_TLS_KEY: unusable pair (${reason(err)})`, {
      cause: err,
    })
  }
  return { cert, key, generated: false }
}

async function readPem(variable: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new Error(`${variable}: cannot read ${path} (${reason(err)})`, { cause: err })
  }
}

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code ?? (err instanceof Error ? err.message : String(err))
}
