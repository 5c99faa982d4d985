import assert from 'node:assert/strict'
import { createConnection } from 'node:net'
import { describe, it } from 'node:test'
import { isDependencyOutage } from '../src/outage.ts'

/** The error a real connect to a closed local port gives. */
function refusedConnection(): Promise<Error> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: 1 })
    socket.on('error', resolve)
  })
}

describe('isDependencyOutage', () => {
  it('when a connection is refused, directly or as the cause of a wrapping error, says outage', async () => {
    const refused = await refusedConnection()
    assert.equal(isDependencyOutage(refused), true)
    assert.equal(isDependencyOutage(new Error('query failed', { cause: refused })), true)
    assert.equal(isDependencyOutage(new AggregateError([refused], 'all addresses failed')), true)
  })

  it('when PostgreSQL is shutting down, starting, full, or dropped the connection, says outage', () => {
    for (const code of ['57P01', '57P03', '53300', '08006', '08001']) assert.equal(isDependencyOutage(Object.assign(new Error(code), { code })), true, code)
    assert.equal(isDependencyOutage(new Error('Connection terminated unexpectedly')), true)
    assert.equal(isDependencyOutage(new Error('timeout exceeded when trying to connect')), true)
  })

  it('when a migration changed a table under a prepared statement, says outage: tried again, it is prepared afresh', () => {
    const stale = Object.assign(new Error('cached plan must not change result type'), { code: '0A000' })
    const unsupported = Object.assign(new Error('LOCK TABLE is not supported'), { code: '0A000' })

    assert.equal(isDependencyOutage(stale), true)
    assert.equal(isDependencyOutage(unsupported), false)
  })

  it('when the error is about the request or the code (a constraint, a syntax error, a bug), says no outage', () => {
    for (const code of ['23505', '42601', '22P02']) assert.equal(isDependencyOutage(Object.assign(new Error(code), { code })), false, code)
    assert.equal(isDependencyOutage(new TypeError('x is undefined')), false)
    assert.equal(isDependencyOutage(undefined), false)
    assert.equal(isDependencyOutage('ECONNREFUSED'), false)
  })
})
