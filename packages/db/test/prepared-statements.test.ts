import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PreparedStatements } from '../src/prepared-statements.ts'

describe('PreparedStatements', () => {
  it('when a text comes again, gives it the same name; another text gets a name of its own', () => {
    const statements = new PreparedStatements(10)

    const first = statements.nameOf('select $1')
    const other = statements.nameOf('select $1, $2')

    assert.equal(statements.nameOf('select $1'), first)
    assert.notEqual(other, first)
    assert.deepEqual(statements.takeClosed(), [])
  })

  it('when full, gives up the least recently used statement and hands its name over for closing once', () => {
    const statements = new PreparedStatements(2)
    const a = statements.nameOf('a')
    const b = statements.nameOf('b')
    statements.nameOf('a')

    const c = statements.nameOf('c')

    assert.deepEqual(statements.takeClosed(), [b])
    assert.deepEqual(statements.takeClosed(), [])
    assert.equal(statements.size, 2)
    assert.equal(statements.nameOf('a'), a)
    assert.equal(statements.nameOf('c'), c)
  })

  it('when a statement is forgotten, closes its name and never issues that name again', () => {
    const statements = new PreparedStatements(5)
    const stale = statements.nameOf('select * from t where id = $1')

    statements.forget('select * from t where id = $1')
    statements.forget('never prepared')
    const fresh = statements.nameOf('select * from t where id = $1')

    assert.deepEqual(statements.takeClosed(), [stale])
    assert.notEqual(fresh, stale)
  })
})
