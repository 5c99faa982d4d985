import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { TestClient } from '@platform/testkit'
import { waitUntil } from '@platform/testkit'
import { GOOD_PASSWORD, uniqueEmail, type Stack } from './stack.ts'

export type RegisteredUser = { id: string; email: string }

/**
 * Registers `count` new users through the gateway, `concurrency` at a time, asserting each 201.
 * The stack needs relaxed limits (`RELAXED_RATE_LIMITS`): `register_ip` allows 5 an hour.
 */
export async function registerUsers(client: TestClient, count: number, { concurrency = 5, tag = 'reg' } = {}): Promise<RegisteredUser[]> {
  const users: RegisteredUser[] = []
  let next = 0
  const worker = async () => {
    while (next < count) {
      next += 1
      const email = uniqueEmail(tag)
      const res = await client.request('POST', '/auth/register', { json: { email, password: GOOD_PASSWORD } })
      assert.equal(res.status, 201, `register ${email}: ${res.status} ${res.text}`)
      users.push({ id: res.body.id as string, email })
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return users
}

/** How many `auth.user.registered` records the stack's audit log holds per user id (of `ids`). */
export async function auditedRegistrations(stack: Stack, ids: readonly string[]): Promise<Map<string, number>> {
  const rows = await stack.platform.audit.deps.db
    .selectFrom('audit_records')
    .select('subject_id')
    .where('action', '=', 'auth.user.registered')
    .where('subject_id', 'in', [...ids])
    .execute()
  const counts = new Map<string, number>()
  for (const row of rows) counts.set(row.subject_id!, (counts.get(row.subject_id!) ?? 0) + 1)
  return counts
}

/**
 * How many mails each recipient got in the stack's mailbox (`DATA_DIR/mailbox/*.eml`, where the
 * notification service writes mail without `SMTP_URL`), by the `To:` header.
 */
export async function mailsByRecipient(stack: Stack): Promise<Map<string, number>> {
  const dir = join(stack.dataDir, 'mailbox')
  const names = await readdir(dir).catch(() => [] as string[])
  const counts = new Map<string, number>()
  for (const name of names.filter((n) => n.endsWith('.eml') && !n.startsWith('.'))) {
    const text = await readFile(join(dir, name), 'utf8')
    const headers = text.slice(0, text.search(/\r?\n\r?\n/))
    const to = /^To: *(.*)$/im.exec(headers)?.[1] ?? ''
    for (const address of to.match(/[^\s<>,"]+@[^\s<>,"]+/g) ?? []) counts.set(address.toLowerCase(), (counts.get(address.toLowerCase()) ?? 0) + 1)
  }
  return counts
}

/**
 * Waits (polling, up to `timeoutMs`) until every user has its `auth.user.registered` audit record
 * and its verification mail, then asserts there is exactly one of each per user.
 */
export async function expectOneRecordAndOneMailEach(stack: Stack, users: readonly RegisteredUser[], timeoutMs: number): Promise<void> {
  const ids = users.map((u) => u.id)
  let audited = new Map<string, number>()
  let mails = new Map<string, number>()
  const missing = () => ({
    records: users.filter((u) => !audited.has(u.id)).length,
    mails: users.filter((u) => !mails.has(u.email)).length,
  })
  try {
    await waitUntil(
      async () => {
        audited = await auditedRegistrations(stack, ids)
        mails = await mailsByRecipient(stack)
        const gaps = missing()
        return gaps.records === 0 && gaps.mails === 0
      },
      { timeoutMs, intervalMs: 250, what: 'an audit record and a mail for every registration' },
    )
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${JSON.stringify(missing())} of ${users.length} still missing`, { cause: error })
  }
  assert.deepEqual(users.filter((u) => audited.get(u.id) !== 1).map((u) => [u.email, audited.get(u.id)]), [], 'one audit record per registration')
  assert.deepEqual(users.filter((u) => mails.get(u.email) !== 1).map((u) => [u.email, mails.get(u.email)]), [], 'one verification mail per registration')
}
