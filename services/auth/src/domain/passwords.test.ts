import assert from 'node:assert/strict'
import { pbkdf2Sync, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import bcrypt from 'bcryptjs'
import { checkPassword, hashPassword } from './passwords.ts'

const werkzeugHash = (password: string, iterations = 600_000) => {
  const salt = randomBytes(12).toString('base64url')
  return `pbkdf2:sha256:${iterations}$${salt}$${pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('hex')}`
}

describe('checkPassword', () => {
  it('when the hash is our argon2id, accepts the right password and asks no rehash', async () => {
    const hash = await hashPassword('correct horse battery')
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/)
    assert.deepEqual(await checkPassword(hash, 'correct horse battery'), { ok: true, needsRehash: false })
    assert.deepEqual(await checkPassword(hash, 'wrong horse battery'), { ok: false, needsRehash: false })
  })

  it('when the hash is bcrypt, accepts the right password and asks for an argon2id rehash', async () => {
    const hash = await bcrypt.hash('legacy password 1', 4)
    assert.deepEqual(await checkPassword(hash, 'legacy password 1'), { ok: true, needsRehash: true })
    assert.deepEqual(await checkPassword(hash, 'legacy password 2'), { ok: false, needsRehash: false })
  })

  it('when the hash is Werkzeug PBKDF2-SHA256, accepts the right password and asks for a rehash', async () => {
    const hash = werkzeugHash('flask era password', 1000)
    assert.deepEqual(await checkPassword(hash, 'flask era password'), { ok: true, needsRehash: true })
    assert.deepEqual(await checkPassword(hash, 'flask era passwore'), { ok: false, needsRehash: false })
  })

  it('when the hash is of an unknown scheme or an argon2 hash with weaker parameters, acts safely', async () => {
    assert.deepEqual(await checkPassword('md5$abc$def', 'anything'), { ok: false, needsRehash: false })
    const argon2 = (await import('argon2')).default
    const weak = await argon2.hash('older params pw', { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 })
    assert.deepEqual(await checkPassword(weak, 'older params pw'), { ok: true, needsRehash: true })
  })
})
