import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ComposeError } from '../domain/compose-mail.ts'
import { describeSendError } from './describe-error.ts'

describe('describeSendError', () => {
  it('when the SMTP server refused the connection, says so without its address', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:25'), { code: 'ESOCKET' })
    assert.equal(describeSendError(error), 'ECONNREFUSED: the SMTP server refused the connection')
  })

  it('when the server answered with an error, gives its codes and the command, not its text', () => {
    const error = Object.assign(new Error("Can't send mail - all recipients were rejected: 550 5.1.1 <x@mx.internal> unknown"), {
      code: 'EENVELOPE',
      responseCode: 550,
      response: '550 5.1.1 <x@mx.internal> unknown',
      command: 'RCPT TO',
    })
    assert.equal(describeSendError(error), 'SMTP 550 5.1.1 (RCPT): the server rejected the mail')
  })

  it('when rendering failed, passes our own message on', () => {
    assert.equal(describeSendError(new ComposeError('unknown template x')), 'unknown template x')
  })

  it('when the error is unknown, says nothing of its message', () => {
    assert.equal(describeSendError(new Error('/var/lib/secret/path exploded')), 'the mail could not be handed over')
    assert.equal(describeSendError(Object.assign(new Error('/data/mailbox: no space'), { code: 'ENOSPC' })), 'ENOSPC: the mail could not be handed over')
  })
})
