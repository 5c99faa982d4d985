import { createEnvelope, type EnvelopeInput, type EventEnvelope } from '@platform/bus'
import { inTransaction } from '@platform/db'
import type { TestClient } from '@platform/testkit'
import { waitUntil } from '@platform/testkit'
import type { AuditRecord } from '@platform/audit'

export type { AuditRecord }
import { GOOD_PASSWORD, registerAndLogin, uniqueEmail, type Stack } from './stack.ts'

/** A user made admin behind auth's back (roles updated in its database), then logged in again. */
export async function adminOf(stack: Stack, client: TestClient = stack.client): Promise<{ id: string; email: string; accessToken: string }> {
  const email = uniqueEmail('audit-admin')
  const user = await registerAndLogin(client, email)
  await stack.platform.auth.deps.db.updateTable('users').set({ roles: ['admin'] }).where('id', '=', user.id).execute()
  const login = await client.request('POST', '/auth/login', { json: { email, password: GOOD_PASSWORD } })
  if (login.status !== 200) throw new Error(`admin login failed: ${login.status} ${login.text}`)
  return { id: user.id, email, accessToken: login.body.access_token as string }
}

/** Publishes envelopes on the stack's bus, as a service's outbox relay would. */
export async function publishEvents(stack: Stack, ...inputs: Partial<EnvelopeInput>[]): Promise<EventEnvelope[]> {
  const events = inputs.map((input) => createEnvelope({ type: 'auth.login.succeeded', source: 'auth', data: {}, ...input }))
  await Promise.all(events.map((event) => stack.platform.bus.publish(event)))
  return events
}

/** Waits until every event id is stored by the stack's audit service; returns the rows by id. */
export async function waitForAudit(stack: Stack, ids: readonly string[], timeoutMs = 15_000): Promise<Map<string, number>> {
  const db = stack.platform.audit.deps.db
  const unique = [...new Set(ids)]
  let seqs = new Map<string, number>()
  await waitUntil(
    async () => {
      const rows = unique.length ? await db.selectFrom('audit_records').select(['id', 'seq']).where('id', 'in', unique).execute() : []
      seqs = new Map(rows.map((r) => [r.id, Number(r.seq)]))
      return seqs.size === unique.length
    },
    { timeoutMs, what: `${unique.length} audit records` },
  )
  return seqs
}

/**
 * Locks the audit chain head from outside, as a long batch of another replica would: every
 * audit writer waits until the returned function is called. For fault tests that need messages
 * in flight.
 */
export async function holdChainHead(stack: Stack): Promise<() => Promise<void>> {
  let locked!: () => void
  let release!: () => void
  const isLocked = new Promise<void>((resolve) => (locked = resolve))
  const gate = new Promise<void>((resolve) => (release = resolve))
  const holding = inTransaction(stack.platform.audit.deps.db, async (trx) => {
    await trx.selectFrom('audit_chain_head').select('last_seq').where('id', '=', 1).forUpdate().execute()
    locked()
    await gate
  })
  await Promise.race([isLocked, holding])
  return async () => {
    release()
    await holding
  }
}
