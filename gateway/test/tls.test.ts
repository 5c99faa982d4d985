import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { createServer, get, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { connect, type ConnectionOptions } from 'node:tls'
import { ensureDevCertificate } from '../src/tls/dev-certificate.ts'
import { loadTlsMaterial, tlsServerOptions } from '../src/tls/tls-options.ts'

const DAY_MS = 86_400_000

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-tls-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function startGateway(t: TestContext): Promise<{ server: Server; port: number; ca: string }> {
  const dev = await ensureDevCertificate(await tempDir(t))
  const server = createServer(tlsServerOptions(dev), (_req, res) => res.end('ok'))
  server.listen(0)
  await once(server, 'listening')
  t.after(async () => {
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  })
  const { port } = server.address() as AddressInfo
  return { server, port, ca: await readFile(dev.caPath, 'utf8') }
}

async function httpsGet(url: string, ca: string): Promise<{ status?: number; body: string }> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    get(url, { ca, agent: false }, resolve).on('error', reject)
  })
  let body = ''
  for await (const chunk of res) body += chunk
  return { status: res.statusCode, body }
}

type Handshake = { protocol: string | null; cipher: string }

function handshake(options: ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connect(options, () => {
      const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name }
      socket.destroy()
      resolve(result)
    })
    socket.on('error', (err) => {
      socket.destroy()
      reject(err)
    })
  })
}

describe('ensureDevCertificate', () => {
  it('when the directory is empty, writes a CA and a localhost certificate signed by it', async (t) => {
    const dir = await tempDir(t)

    const dev = await ensureDevCertificate(join(dir, 'tls'))

    assert.equal(dev.created, true)
    assert.equal(dev.caPath, join(dir, 'tls', 'ca.pem'))
    const ca = new X509Certificate(await readFile(dev.caPath))
    const leaf = new X509Certificate(dev.cert)
    assert.equal(ca.subject, 'CN=Security Platform Dev CA')
    assert.equal(ca.ca, true)
    assert.ok(Date.parse(ca.validTo) - Date.now() > 9 * 365 * DAY_MS)
    assert.equal(leaf.ca, false)
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey))
    assert.equal(leaf.checkHost('localhost'), 'localhost')
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1')
    assert.equal(leaf.checkIP('::1'), '::1')
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'])
    assert.ok(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom) <= 825 * DAY_MS)
    assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
    assert.equal(await readFile(join(dir, 'tls', 'cert.pem'), 'utf8'), dev.cert)
    assert.equal(await readFile(join(dir, 'tls', 'key.pem'), 'utf8'), dev.key)
  })

  it('when called again, reuses the certificate it made the first time', async (t) => {
    const dir = await tempDir(t)
    const first = await ensureDevCertificate(dir)

    const second = await ensureDevCertificate(dir)

    assert.equal(second.created, false)
    assert.equal(second.cert, first.cert)
    assert.equal(second.key, first.key)
    assert.equal(second.caPath, first.caPath)
  })

  it('when the certificate expires within 30 days, makes a new one signed by the same CA', async (t) => {
    const dir = await tempDir(t)
    const old = await ensureDevCertificate(dir, { now: new Date(Date.now() - 800 * DAY_MS) })
    const caBefore = await readFile(old.caPath, 'utf8')

    const renewed = await ensureDevCertificate(dir)

    assert.equal(renewed.created, true)
    assert.notEqual(renewed.cert, old.cert)
    assert.equal(await readFile(renewed.caPath, 'utf8'), caBefore)
    const leaf = new X509Certificate(renewed.cert)
    assert.ok(leaf.checkIssued(new X509Certificate(caBefore)))
    assert.ok(Date.parse(leaf.validTo) - Date.now() > 800 * DAY_MS)
  })

  it(
    'when it writes private keys, only the owner can read them',
    { skip: process.platform === 'win32' },
    async (t) => {
      const dir = join(await tempDir(t), 'tls')

      await ensureDevCertificate(dir)

      assert.equal((await stat(dir)).mode & 0o777, 0o700)
      assert.equal((await stat(join(dir, 'ca-key.pem'))).mode & 0o777, 0o600)
      assert.equal((await stat(join(dir, 'key.pem'))).mode & 0o777, 0o600)
    },
  )
})

describe('TLS listener with tlsServerOptions', () => {
  it('when a client trusts only ca.pem, it verifies the server as localhost and 127.0.0.1', async (t) => {
    const { port, ca } = await startGateway(t)

    const byName = await httpsGet(`https://localhost:${port}/`, ca)
    const byIp = await httpsGet(`https://127.0.0.1:${port}/`, ca)
    const tls13 = await handshake({ host: 'localhost', port, ca })

    assert.deepEqual(byName, { status: 200, body: 'ok' })
    assert.deepEqual(byIp, { status: 200, body: 'ok' })
    assert.equal(tls13.protocol, 'TLSv1.3')
  })

  it('when a client does not trust the dev CA, the handshake fails verification', async (t) => {
    const { port } = await startGateway(t)

    await assert.rejects(handshake({ host: 'localhost', port }), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    })
  })

  it('when a client offers at most TLS 1.1, the server refuses it', async (t) => {
    const { server, port, ca } = await startGateway(t)
    const refused = once(server, 'tlsClientError')

    // SECLEVEL=0 so that the client's own OpenSSL agrees to speak TLS 1.1 at all and the
    // refusal observed is the server's.
    await assert.rejects(
      handshake({
        host: 'localhost',
        port,
        ca,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
    )
    const [err] = (await refused) as [NodeJS.ErrnoException]
    assert.equal(err.code, 'ERR_SSL_UNSUPPORTED_PROTOCOL')
  })

  it('when a TLS 1.2 client offers only a non-AEAD suite, the server refuses it', async (t) => {
    const { server, port, ca } = await startGateway(t)
    const refused = once(server, 'tlsClientError')

    // CBC with an ECDSA key exchange: the server's certificate could serve it, so only the
    // cipher policy stands in the way.
    await assert.rejects(
      handshake({
        host: 'localhost',
        port,
        ca,
        maxVersion: 'TLSv1.2',
        ciphers: 'ECDHE-ECDSA-AES128-SHA256',
      }),
    )
    const [err] = (await refused) as [NodeJS.ErrnoException]
    assert.equal(err.code, 'ERR_SSL_NO_SHARED_CIPHER')
  })

  it('when a TLS 1.2 client offers ECDHE-ECDSA-AES128-GCM-SHA256, the handshake succeeds', async (t) => {
    const { port, ca } = await startGateway(t)

    const result = await handshake({
      host: 'localhost',
      port,
      ca,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
    })

    assert.deepEqual(result, { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' })
  })
})

describe('loadTlsMaterial', () => {
  it('when only GATEWAY_TLS_CERT is given, throws naming GATEWAY_TLS_KEY', async (t) => {
    const dataDir = await tempDir(t)
    await ensureDevCertificate(join(dataDir, 'existing'))

    await assert.rejects(
      loadTlsMaterial({ certFile: join(dataDir, 'existing', 'cert.pem'), dataDir }),
      {
        message: /GATEWAY_TLS_KEY/,
      },
    )
    await assert.rejects(
      loadTlsMaterial({ keyFile: join(dataDir, 'existing', 'key.pem'), dataDir }),
      {
        message: /GATEWAY_TLS_CERT/,
      },
    )
  })

  it('when both files are given, serves them and generates nothing', async (t) => {
    const dataDir = await tempDir(t)
    const dev = await ensureDevCertificate(join(dataDir, 'configured'))

    const material = await loadTlsMaterial({
      certFile: join(dataDir, 'configured', 'cert.pem'),
      keyFile: join(dataDir, 'configured', 'key.pem'),
      dataDir,
    })

    assert.deepEqual(material, { cert: dev.cert, key: dev.key, generated: false })
    await assert.rejects(stat(join(dataDir, 'tls')), { code: 'ENOENT' })
  })

  it('when the key does not belong to the certificate, throws naming both variables', async (t) => {
    const dataDir = await tempDir(t)
    await ensureDevCertificate(dataDir)

    await assert.rejects(
      loadTlsMaterial({
        certFile: join(dataDir, 'cert.pem'),
        keyFile: join(dataDir, 'ca-key.pem'),
        dataDir,
      }),
      { message: /GATEWAY_TLS_CERT\/GATEWAY_TLS_KEY/ },
    )
  })

  it('when neither file is given, generates a dev certificate under DATA_DIR/tls', async (t) => {
    const dataDir = await tempDir(t)

    const material = await loadTlsMaterial({ dataDir })

    assert.equal(material.generated, true)
    assert.equal(material.caPath, join(dataDir, 'tls', 'ca.pem'))
    assert.equal(material.cert, await readFile(join(dataDir, 'tls', 'cert.pem'), 'utf8'))
  })
})
