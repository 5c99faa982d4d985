import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { createMemoryKv } from '@platform/kv'
import { AppError, ValidationError } from '@platform/platform'
import { isUsageError, runAdminCli } from '../src/admin-cli.ts'
import { call, startTestAuth, type TestAuth } from './harness.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const noInput = () => Readable.from([])

describe('npm run admin', () => {
  // One auth service and its database; the CLI runs against the same database while the service
  // is stopped, as it must with the embedded PGlite (one user at a time).
  const kv = createMemoryKv()
  let service: TestAuth
  const admin = (args: string[], stdin: NodeJS.ReadableStream = noInput()) => runAdminCli(args, service.env, stdin)
  before(async () => {
    service = await startTestAuth({}, { kv })
    await service.auth.stop()
  })
  after(async () => {
    await service.stop()
    await kv.close()
  })

  it('when create-user is given an e-mail, a password and roles, creates that user and prints it as JSON', async () => {
    const line = await admin(['create-user', '--email', ' Ops@Example.com ', '--password', 'operations passphrase', '--roles', 'admin,user'])
    const printed = JSON.parse(line) as Record<string, unknown>
    assert.equal(printed.email, 'ops@example.com')
    assert.deepEqual(printed.roles, ['admin', 'user'])
    assert.ok(!('password_hash' in printed) && !line.includes('operations passphrase'))
  })

  it('when the password comes on stdin, uses it without the trailing newline', async () => {
    await admin(['create-user', '--email', 'piped@example.com', '--password-stdin'], Readable.from(['piped passphrase here\n']))
    await service.restart()
    const login = await call(service.auth, 'POST', '/auth/login', { json: { email: 'piped@example.com', password: 'piped passphrase here' } })
    await service.auth.stop()
    assert.equal(login.status, 200)
  })

  it('when the password breaks the policy or the e-mail is taken, fails with the reason', async () => {
    await assert.rejects(admin(['create-user', '--email', 'weak@example.com', '--password', 'password1']), (e: unknown) => e instanceof ValidationError)
    await assert.rejects(admin(['create-user', '--email', 'ops@example.com', '--password', 'another fine passphrase']), (e: unknown) => e instanceof AppError && e.code === 'email_taken')
  })

  it("when set-roles changes a user's roles, the user's earlier tokens stop working and new ones carry the roles", async () => {
    // Arrange
    await admin(['create-user', '--email', 'seller@example.com', '--password', 'seller passphrase one'])
    await service.restart()
    const before = await call(service.auth, 'POST', '/auth/login', { json: { email: 'seller@example.com', password: 'seller passphrase one' } })
    assert.equal(before.status, 200)
    await service.auth.stop()

    // Act
    const line = await admin(['set-roles', '--email', 'SELLER@example.com', '--roles', 'user,reseller'])

    // Assert
    assert.deepEqual((JSON.parse(line) as { roles: string[] }).roles, ['user', 'reseller'])
    await service.restart()
    const old = await call(service.auth, 'GET', '/auth/me', { token: before.body.access_token as string })
    assert.equal(old.status, 401, 'a token issued before the change is revoked')
    const refreshed = await call(service.auth, 'POST', '/auth/refresh', { json: { refresh_token: before.body.refresh_token } })
    assert.equal(refreshed.status, 200, 'the session refreshes')
    const me = await call(service.auth, 'GET', '/auth/me', { token: refreshed.body.access_token as string })
    assert.deepEqual(me.body.roles, ['user', 'reseller'])
    await service.auth.stop()
  })

  it('when the command line is wrong, says how to call it', async () => {
    for (const args of [[], ['frob'], ['set-roles', '--email', 'x@example.com'], ['set-roles', '--email', 'x@example.com', '--roles', 'god'], ['create-user', '--email', 'x@example.com'], ['create-user', '--email', 'not-an-email', '--password', 'a fine passphrase'], ['create-user', '--nope']]) {
      await assert.rejects(admin(args), (e: unknown) => isUsageError(e), args.join(' '))
    }
    await assert.rejects(admin(['set-roles', '--email', 'nobody@example.com', '--roles', 'user']), (e: unknown) => e instanceof AppError && e.code === 'user_not_found')
  })

  it('is wired as the root script `admin`: a wrong call exits 2 with the usage', () => {
    const run = spawnSync('npm', ['run', '-s', 'admin', '--', 'frob'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DATA_DIR: service.env.DATA_DIR } })
    assert.equal(run.status, 2, run.stderr)
    assert.match(run.stderr, /usage:\n {2}npm run admin -- create-user/)
  })
})
