import assert from 'node:assert/strict'
import { after, before, describe, it, type TestContext } from 'node:test'
import type { JsonResponse, TestClient } from '@platform/testkit'
import { assertProblem } from '../src/http-fixtures.ts'
import { issueLicense, newFingerprint, userWithRoles, type TestUser } from '../src/license-fixtures.ts'
import { clientFrom, startStack, type Stack } from '../src/stack.ts'

// The default policies (CONTRACT §3): license_activate_ip and license_activate_key 10 / 3600 s,
// license_generate 20 / 3600 s. Each test speaks from loopback addresses of its own.

function assertLimitedBy(res: JsonResponse, policy: string, limit: number): void {
  assertProblem(res, 429, 'rate_limited', policy)
  assert.match(res.headers.get('retry-after') ?? '', /^\d+$/)
  assert.match(res.headers.get('ratelimit-policy') ?? '', new RegExp(`"${policy}";q=${limit};w=3600`))
}

describe('licenses: rate limits at the gateway', () => {
  let stack: Stack
  let reseller: TestUser

  before(async () => {
    stack = await startStack()
    const setup = clientFrom(stack)
    reseller = await userWithRoles(stack, ['reseller'], setup)
    await setup.close()
  })
  after(() => stack.stop())

  const client = (t: TestContext): TestClient => {
    const c = clientFrom(stack)
    t.after(() => c.close())
    return c
  }
  const activate = (c: TestClient, key: string) => c.request('POST', '/licenses/activate', { json: { key, fingerprint: newFingerprint() } })

  it('when one key is activated an 11th time within the hour, from any address, answers 429 under license_activate_key', async (t) => {
    const license = await issueLicense(client(t), reseller.accessToken, { max_machines: 10 })
    const first = client(t)
    for (let i = 0; i < 10; i++) assert.equal((await activate(first, license.key)).status, 201)

    const elsewhere = client(t)
    const eleventh = await activate(elsewhere, license.key)
    const otherKey = await activate(elsewhere, (await issueLicense(client(t), reseller.accessToken)).key)

    assertLimitedBy(eleventh, 'license_activate_key', 10)
    assert.equal(otherKey.status, 201, otherKey.text)
  })

  it('when one address activates an 11th time within the hour, whatever the keys, answers 429 under license_activate_ip', async (t) => {
    const c = client(t)
    for (let i = 0; i < 10; i++) assertProblem(await activate(c, `AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-${String(10000 + i)}`), 404, 'license_not_found')

    const eleventh = await activate(c, 'AAAAA-BBBBB-CCCCC-DDDDD-EEEEE-FFFFF')

    assertLimitedBy(eleventh, 'license_activate_ip', 10)
  })

  it('when a reseller issues a 21st license within the hour, answers 429 under license_generate', async (t) => {
    const c = client(t)
    const busy = await userWithRoles(stack, ['reseller'], c)
    for (let i = 0; i < 20; i++) await issueLicense(c, busy.accessToken)

    const res = await c.request('POST', '/licenses', { token: busy.accessToken, json: { product: 'editor-pro', max_machines: 1 } })

    assertLimitedBy(res, 'license_generate', 20)
  })
})
