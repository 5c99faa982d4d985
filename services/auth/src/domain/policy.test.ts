import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ROLES } from '@platform/contracts'
import { can, PERMISSIONS, type Permission } from './policy.ts'

describe('can', () => {
  const actions = Object.keys(PERMISSIONS) as Permission[]

  it('when the actor is an admin, allows every administrative action', () => {
    for (const action of actions) assert.equal(can({ roles: ['admin'] }, action), true, action)
  })

  it('when the actor is a user or a reseller, allows no administrative action', () => {
    for (const action of actions) {
      assert.equal(can({ roles: ['user'] }, action), false, `user: ${action}`)
      assert.equal(can({ roles: ['user', 'reseller'] }, action), false, `reseller: ${action}`)
    }
  })

  it('when the actor has no roles or an unknown one, allows nothing', () => {
    for (const action of actions) {
      assert.equal(can({ roles: [] }, action), false, action)
      assert.equal(can({ roles: ['Admin', 'root'] }, action), false, `case and unknown roles: ${action}`)
    }
  })

  it('names only roles the platform knows', () => {
    for (const [action, roles] of Object.entries(PERMISSIONS)) {
      for (const role of roles) assert.ok((ROLES as readonly string[]).includes(role), `${action}: ${role}`)
    }
  })
})
