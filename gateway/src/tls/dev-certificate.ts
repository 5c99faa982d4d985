import {
  X509Certificate,
  createHash,
  createPrivateKey,
  generateKeyPair,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { promisify } from 'node:util'
import { ecdsaWithSHA256 } from '@peculiar/asn1-ecc'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import {
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_serverAuth,
} from '@peculiar/asn1-x509'

// @peculiar/x509 is not used: it loads tsyringe, which throws at import time unless a Reflect
// metadata polyfill is installed. Its ASN.1 layer (@peculiar/asn1-*) has no such need, and
// node:crypto does the key generation and signing.

const CA_COMMON_NAME = 'Security Platform Dev CA'
const LEAF_COMMON_NAME = 'localhost'
const LEAF_DNS_NAMES = ['localhost']
const LEAF_IP_ADDRESSES = ['127.0.0.1', '::1']
const ID_AT_COMMON_NAME = '2.5.4.3'

const DAY_MS = 86_400_000
const CA_VALIDITY_MS = 3650 * DAY_MS
// Apple platforms refuse TLS server certificates valid for more than 825 days even when they
// chain to a user-trusted root; mkcert stays under the limit the same way.
const LEAF_VALIDITY_MS = 820 * DAY_MS
const RENEW_BEFORE_MS = 30 * DAY_MS
// Backdated so that a client whose clock runs a little behind does not see "not yet valid".
const CLOCK_SKEW_MS = 5 * 60_000

const generateKeyPairAsync = promisify(generateKeyPair)

/** What {@link ensureDevCertificate} hands back: PEM strings ready for `tls.createServer`. */
export type DevCertificate = {
  /** PEM of the server certificate for `localhost`, `127.0.0.1` and `::1`. */
  cert: string
  /** PEM (PKCS #8) of the server certificate's private key. */
  key: string
  /** Absolute path of the dev CA certificate that clients must trust. */
  caPath: string
  /** True when this call generated the server certificate (and possibly the CA). */
  created: boolean
}

type CertifiedKey = { cert: X509Certificate; key: KeyObject }

type Paths = { caCert: string; caKey: string; cert: string; key: string }

/**
 * Makes sure `dir` holds a local development CA and a server certificate signed by it, and
 * returns the server certificate, its key and where the CA certificate lies.
 *
 * Used when no certificate is configured (`GATEWAY_TLS_CERT` / `GATEWAY_TLS_KEY` absent). The
 * first call writes `ca.pem`, `ca-key.pem` (ECDSA P-256, CA for 10 years), `cert.pem` and
 * `key.pem` (ECDSA P-256, `serverAuth` for `localhost`, `127.0.0.1` and `::1`, 820 days);
 * private keys get mode 0600 and a newly created `dir` 0700. Later calls reuse the files. The
 * server certificate is regenerated, with the same CA, when it expires within 30 days, does not
 * match its key or CA, or is missing; the CA is regenerated only when it is itself unusable,
 * since every client that trusts it would have to trust the new one.
 *
 * @param dir - directory of the four PEM files, created if missing
 * @param options.now - the current time; tests pass an earlier one to get an old certificate
 * @example
 * const { cert, key, caPath } = await ensureDevCertificate('.data/tls')
 * https.createServer(tlsServerOptions({ cert, key }), app)
 * console.log(`curl --cacert ${caPath} https://localhost:8443/healthz`)
 */
export async function ensureDevCertificate(
  dir: string,
  options: { now?: Date } = {},
): Promise<DevCertificate> {
  const now = options.now ?? new Date()
  const paths: Paths = {
    caCert: resolve(dir, 'ca.pem'),
    caKey: resolve(dir, 'ca-key.pem'),
    cert: resolve(dir, 'cert.pem'),
    key: resolve(dir, 'key.pem'),
  }
  await mkdir(dir, { recursive: true, mode: 0o700 })

  let issuer = await readUsableCa(paths, now)
  if (!issuer) {
    issuer = await createCa(now)
    // Key first: a crash between the two writes leaves a pair that fails the match check
    // next time and is regenerated, never a certificate whose key is lost.
    await writeFileAtomically(paths.caKey, exportKey(issuer.key), 0o600)
    await writeFileAtomically(paths.caCert, issuer.cert.toString(), 0o644)
  } else {
    const existing = await readUsableLeaf(paths, issuer, now)
    if (existing) return { ...existing, caPath: paths.caCert, created: false }
  }

  const leaf = await createLeaf(issuer, now)
  const key = exportKey(leaf.key)
  const cert = leaf.cert.toString()
  await writeFileAtomically(paths.key, key, 0o600)
  await writeFileAtomically(paths.cert, cert, 0o644)
  return { cert, key, caPath: paths.caCert, created: true }
}

async function readUsableCa(paths: Paths, now: Date): Promise<CertifiedKey | undefined> {
  const certPem = await readIfPresent(paths.caCert)
  const keyPem = await readIfPresent(paths.caKey)
  if (certPem === undefined || keyPem === undefined) return undefined
  try {
    const cert = new X509Certificate(certPem)
    const key = createPrivateKey(keyPem)
    const usable = cert.ca && cert.checkPrivateKey(key) && expiresAfter(cert, now, RENEW_BEFORE_MS)
    return usable ? { cert, key } : undefined
  } catch {
    return undefined
  }
}

async function readUsableLeaf(
  paths: Paths,
  issuer: CertifiedKey,
  now: Date,
): Promise<{ cert: string; key: string } | undefined> {
  const certPem = await readIfPresent(paths.cert)
  const keyPem = await readIfPresent(paths.key)
  if (certPem === undefined || keyPem === undefined) return undefined
  try {
    const cert = new X509Certificate(certPem)
    const usable =
      cert.checkIssued(issuer.cert) &&
      cert.verify(issuer.cert.publicKey) &&
      cert.checkPrivateKey(createPrivateKey(keyPem)) &&
      new Date(cert.validFrom).getTime() <= now.getTime() &&
      expiresAfter(cert, now, RENEW_BEFORE_MS) &&
      LEAF_DNS_NAMES.every((name) => cert.checkHost(name) !== undefined) &&
      LEAF_IP_ADDRESSES.every((ip) => cert.checkIP(ip) !== undefined)
    return usable ? { cert: certPem, key: keyPem } : undefined
  } catch {
    return undefined
  }
}

async function createCa(now: Date): Promise<CertifiedKey> {
  const { publicKey, privateKey } = await generateP256KeyPair()
  const spki = subjectPublicKeyInfo(publicKey)
  const name = commonName(CA_COMMON_NAME)
  const cert = signCertificate(
    new TBSCertificate({
      version: Version.v3,
      serialNumber: randomSerialNumber(),
      signature: ecdsaWithSHA256,
      issuer: name,
      validity: validity(now, CA_VALIDITY_MS),
      subject: name,
      subjectPublicKeyInfo: spki,
      extensions: new Extensions([
        // pathLen 0: this CA only ever signs server certificates, never another CA.
        extension(
          id_ce_basicConstraints,
          true,
          new BasicConstraints({ cA: true, pathLenConstraint: 0 }),
        ),
        extension(
          id_ce_keyUsage,
          true,
          new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign),
        ),
        extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(spki))),
      ]),
    }),
    privateKey,
  )
  return { cert, key: privateKey }
}

async function createLeaf(issuer: CertifiedKey, now: Date): Promise<CertifiedKey> {
  const { publicKey, privateKey } = await generateP256KeyPair()
  const spki = subjectPublicKeyInfo(publicKey)
  const issuerSpki = subjectPublicKeyInfo(issuer.cert.publicKey)
  // The issuer name is copied byte for byte from the CA, so that chain building matches it.
  const issuerName = AsnConvert.parse(issuer.cert.raw, Certificate).tbsCertificate.subject
  const cert = signCertificate(
    new TBSCertificate({
      version: Version.v3,
      serialNumber: randomSerialNumber(),
      signature: ecdsaWithSHA256,
      issuer: issuerName,
      // Never past the CA's own expiry: a certificate cannot outlive the chain that vouches for it.
      validity: validity(now, LEAF_VALIDITY_MS, new Date(issuer.cert.validTo).getTime()),
      subject: commonName(LEAF_COMMON_NAME),
      subjectPublicKeyInfo: spki,
      extensions: new Extensions([
        extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
        extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
        extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
        extension(
          id_ce_subjectAltName,
          false,
          new SubjectAlternativeName([
            ...LEAF_DNS_NAMES.map((dNSName) => new GeneralName({ dNSName })),
            ...LEAF_IP_ADDRESSES.map((iPAddress) => new GeneralName({ iPAddress })),
          ]),
        ),
        extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(spki))),
        extension(
          id_ce_authorityKeyIdentifier,
          false,
          new AuthorityKeyIdentifier({
            keyIdentifier: new KeyIdentifier(keyIdentifier(issuerSpki)),
          }),
        ),
      ]),
    }),
    issuer.key,
  )
  return { cert, key: privateKey }
}

function signCertificate(tbs: TBSCertificate, signingKey: KeyObject): X509Certificate {
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs))
  // X.509 carries ECDSA signatures as DER SEQUENCE { r, s }, which is what dsaEncoding 'der' gives.
  const signature = sign('sha256', tbsDer, { key: signingKey, dsaEncoding: 'der' })
  const certificate = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: ecdsaWithSHA256,
    signatureValue: toArrayBuffer(signature),
  })
  return new X509Certificate(Buffer.from(AsnConvert.serialize(certificate)))
}

async function generateP256KeyPair(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return generateKeyPairAsync('ec', { namedCurve: 'P-256' })
}

function subjectPublicKeyInfo(publicKey: KeyObject): SubjectPublicKeyInfo {
  return AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo)
}

// RFC 7093 method 1: the leftmost 160 bits of the SHA-256 of the subjectPublicKey bits.
function keyIdentifier(spki: SubjectPublicKeyInfo): ArrayBuffer {
  const digest = createHash('sha256').update(new Uint8Array(spki.subjectPublicKey)).digest()
  return toArrayBuffer(digest.subarray(0, 20))
}

function randomSerialNumber(): ArrayBuffer {
  const serial = randomBytes(16)
  // A DER INTEGER that is positive and minimally encoded: the first byte lies in 0x01..0x7f.
  serial[0] = (serial.readUInt8(0) & 0x7f) | 0x01
  return toArrayBuffer(serial)
}

function commonName(value: string): Name {
  return new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({
        type: ID_AT_COMMON_NAME,
        value: new AttributeValue({ utf8String: value }),
      }),
    ]),
  ])
}

function validity(now: Date, lifetimeMs: number, notAfterLimitMs = Infinity): Validity {
  const notBefore = now.getTime() - CLOCK_SKEW_MS
  return new Validity({
    notBefore: new Date(notBefore),
    notAfter: new Date(Math.min(notBefore + lifetimeMs, notAfterLimitMs)),
  })
}

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({
    extnID,
    critical,
    extnValue: new OctetString(AsnConvert.serialize(value)),
  })
}

function expiresAfter(cert: X509Certificate, now: Date, marginMs: number): boolean {
  return new Date(cert.validTo).getTime() - now.getTime() > marginMs
}

function exportKey(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString()
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

// Written beside the target and renamed over it: a reader never sees half a key, and a
// replaced key file gets the new mode (writeFile's mode only applies when it creates a file).
async function writeFileAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(temporary, content, { mode, flag: 'wx' })
    await rename(temporary, path)
  } catch (err) {
    await rm(temporary, { force: true })
    throw err
  }
}
