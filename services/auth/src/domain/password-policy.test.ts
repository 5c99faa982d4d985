import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ValidationError } from '@platform/platform'
import { assertPasswordPolicy, passwordPolicyViolation } from './password-policy.ts'

const email = 'Alice.Liddell@example.com'

describe('passwordPolicyViolation', () => {
  it('when the password is long, uncommon and not the e-mail, accepts it', () => {
    assert.equal(passwordPolicyViolation('correct horse battery staple', { email }), undefined)
    assert.equal(passwordPolicyViolation('x'.repeat(256), { email }), undefined)
  })

  it('when the password is shorter than 8 or longer than 256 characters, refuses it', () => {
    assert.match(passwordPolicyViolation('seven77', { email }) ?? '', /at least 8/)
    assert.match(passwordPolicyViolation('x'.repeat(257), { email }) ?? '', /at most 256/)
  })

  it('when the password has 8 characters that are not all single code units, counts characters as people do', () => {
    assert.equal(passwordPolicyViolation('🔑🔑🔑🔑🔑🔑🔑🔑', { email }), undefined, '8 emoji are 8 characters, 16 UTF-16 units')
    assert.match(passwordPolicyViolation('🔑🔑🔑🔑', { email }) ?? '', /at least 8/)
  })

  it('when the password is on the common-password list in any letter case, refuses it', () => {
    for (const common of ['password1', 'Password1', 'QWERTYUIOP', 'iloveyou', '12345678', 'trustno1']) {
      assert.match(passwordPolicyViolation(common, { email }) ?? '', /too common/, common)
    }
  })

  it('when the password is the e-mail address or its local part, refuses it', () => {
    assert.match(passwordPolicyViolation('alice.liddell@example.com', { email }) ?? '', /e-mail/)
    assert.match(passwordPolicyViolation(' ALICE.LIDDELL ', { email }) ?? '', /e-mail/)
    assert.equal(passwordPolicyViolation('alice.liddell and more', { email }), undefined, 'containing it is fine')
  })
})

describe('assertPasswordPolicy', () => {
  it('when the password breaks the policy, throws validation_failed naming the given body path', () => {
    assert.throws(
      () => assertPasswordPolicy('password1', { email, path: '/new_password' }),
      (error: unknown) =>
        error instanceof ValidationError && error.code === 'validation_failed' && error.errors[0]?.path === '/new_password',
    )
  })
})
