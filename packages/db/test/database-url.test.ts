import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { databaseUrlFor } from '../src/database-url.ts'

describe('databaseUrlFor', () => {
  it('when <SERVICE>_DATABASE_URL is set, returns it as given', () => {
    const env = {
      AUTH_DATABASE_URL: 'postgres://a@db1:5432/identity',
      DATABASE_URL: 'postgres://u@h:5432/postgres',
    }

    assert.equal(databaseUrlFor('auth', env), 'postgres://a@db1:5432/identity')
  })

  it('when only DATABASE_URL is set, replaces its database with the service name', () => {
    const env = { DATABASE_URL: 'postgres://u:p%40ss@h:5432/whatever?sslmode=require' }

    assert.equal(databaseUrlFor('auth', env), 'postgres://u:p%40ss@h:5432/auth?sslmode=require')
  })

  it('when DATABASE_URL names no database, adds the service name', () => {
    assert.equal(
      databaseUrlFor('license', { DATABASE_URL: 'postgres://u@h' }),
      'postgres://u@h/license',
    )
  })

  it('when nothing is set or values are empty, returns undefined for embedded PGlite', () => {
    assert.equal(databaseUrlFor('auth', {}), undefined)
    assert.equal(databaseUrlFor('auth', { DATABASE_URL: '', AUTH_DATABASE_URL: '' }), undefined)
  })
})
