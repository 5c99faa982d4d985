import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { infraUrl, waitUntil } from '@platform/testkit/infra'
import { createEnvelope } from '@platform/bus'
import { inTransaction } from '@platform/db'
import { sql } from 'kysely'
import { verifyExport } from '../src/cli/verify-export.ts'
import { buildRecord, type AuditRecord } from '../src/domain/record.ts'
import { createChainWriter } from '../src/domain/ingest.ts'
import { PREFETCH_DEFAULT } from '../src/events/consumer.ts'
import { lockChainHead } from '../src/store/chain-head.ts'
import { insertRecords } from '../src/store/records.ts'
import { openHarness, type Harness, type Setup } from './helpers.ts'

const databaseUrl = infraUrl('DATABASE_URL')
const amqpUrl = infraUrl('AMQP_URL')

const setups: (Setup & { skip: boolean })[] = [
  { name: 'memory bus, PGlite', bus: 'memory', skip: false },
  { name: 'memory bus, PostgreSQL', bus: 'memory', databaseUrl, skip: !databaseUrl },
  { name: 'RabbitMQ, PGlite', bus: 'amqp', amqpUrl, skip: !amqpUrl },
  { name: 'RabbitMQ, PostgreSQL', bus: 'amqp', amqpUrl, databaseUrl, skip: !amqpUrl || !databaseUrl },
]

// One service per suite (an embedded database takes seconds to open); tests run in order, each
// with its own ids, and the retention test, which purges everything older, comes last.
for (const setup of setups) {
  describe(`audit service (${setup.name})`, { skip: setup.skip }, () => {
    let h: Harness
    before(async () => {
      h = await openHarness(setup, { AUDIT_DIGEST_INTERVAL: '1' })
    })
    after(() => h?.close())

    it('when events arrive, each is stored once as a chained, scrubbed record and republished on audit.records', async (t) => {
      const records = await h.bus.subscribe('test.records', ['auth.#'], async () => {}, { exchange: 'audit.records' })
      t.after(() => records.close())
      const userId = randomUUID()
      const [registered, login] = await h.publish(
        { type: 'auth.user.registered', subject: { type: 'user', id: userId }, data: { email: 'a@example.com', verification_token_sealed: 'c2VhbGVk', password: 'x' } },
        { type: 'auth.login.succeeded', actor_id: userId, subject: { type: 'user', id: userId }, outcome: 'success', ip_hash: 'ab'.repeat(32), user_agent: 'curl/8', request_id: 'req-1', data: { session_id: 's1', client_ip: '203.0.113.9' } },
      )
      await h.bus.publish(login!)

      const stored = await h.waitForIds([registered!.id, login!.id])
      const list = await h.get(`/audit/events?actor_id=${userId}`, h.admin)

      assert.equal(list.status, 200)
      assert.deepEqual(list.body, { items: [stored[1]], next_cursor: null })
      assert.deepEqual(
        { ...stored[1]!, seq: 0, hash: '', prev_hash: '', recorded_at: '' },
        { id: login!.id, occurred_at: login!.occurred_at, source: 'auth', action: 'auth.login.succeeded', actor_id: userId, subject: { type: 'user', id: userId }, outcome: 'success', ip_hash: 'ab'.repeat(32), user_agent: 'curl/8', request_id: 'req-1', details: { session_id: 's1', client_ip: '[redacted]' }, seq: 0, hash: '', prev_hash: '', recorded_at: '' },
      )
      assert.deepEqual(stored[0]!.details, { email: 'a@example.com', verification_token_sealed: '[redacted]', password: '[redacted]' })
      assert.equal(stored[1]!.seq, stored[0]!.seq + 1)
      assert.equal(stored[1]!.prev_hash, stored[0]!.hash)
      assert.equal((await h.get('/audit/integrity', h.admin)).body.ok, true)
      // The duplicate delivery of `login` was absorbed.
      await waitUntil(() => h.audit.consumer.stats().duplicates >= 1, { what: 'the duplicate to be seen' })
      assert.equal((await h.waitForIds([login!.id])).length, 1)
      // Records are not envelopes, so a `subscribe` consumer parks them as dead letters: that is
      // how this test reads what reached the audit.records exchange through the broker.
      const republished = async () => (await h.bus.deadLetters('test.records')).map((l) => JSON.parse(l.body) as AuditRecord).filter((r) => r.id === registered!.id || r.id === login!.id)
      await waitUntil(async () => (await republished()).length === 2, { timeoutMs: 10_000, what: 'two records on audit.records' })
      assert.deepEqual((await republished()).sort((a, b) => a.seq - b.seq), stored)
    })

    it('when another writer appends between this replica\'s batches, every record is republished once, as stored', async (t) => {
      const records = await h.bus.subscribe('test.records-mixed', ['auth.#'], async () => {}, { exchange: 'audit.records' })
      t.after(() => records.close())
      const [first] = await h.publish({ request_id: 'mixed-1' })
      await h.waitForIds([first!.id])
      // Records another replica wrote: this one's relay never saw them, so it reads them back.
      const elsewhere = [createEnvelope({ type: 'auth.logout', source: 'auth', data: {} }), createEnvelope({ type: 'auth.logout', source: 'auth', data: {} })]
      await createChainWriter(h.audit.deps.db).write(elsewhere.map((event) => ({ event, maybeStored: false })))
      const [last] = await h.publish({ request_id: 'mixed-2' })
      const ids = [first!.id, ...elsewhere.map((e) => e.id), last!.id]
      const stored = await h.waitForIds(ids)

      const republished = async () => (await h.bus.deadLetters('test.records-mixed')).map((l) => JSON.parse(l.body) as AuditRecord).filter((r) => ids.includes(r.id))
      await waitUntil(async () => (await republished()).length >= ids.length, { timeoutMs: 10_000, what: 'four records on audit.records' })
      assert.deepEqual((await republished()).sort((a, b) => a.seq - b.seq), stored)
    })

    it('when a fast-path batch deadlocks with another writer holding the chain head, it is appended on the locked path instead', { skip: !setup.databaseUrl && 'needs two connections to one PostgreSQL' }, async () => {
      const db = h.audit.deps.db
      const writer = createChainWriter(db)
      const logout = () => createEnvelope({ type: 'auth.logout', source: 'auth', data: {} })
      await writer.write([{ event: logout(), maybeStored: false }]) // the locked path: now the writer knows the head
      // Another replica's locked path: it holds the head, and appends at the seq this writer's
      // fast path has just inserted, so each waits for the other until PostgreSQL ends one.
      let locked!: () => void
      let release!: () => void
      const isLocked = new Promise<void>((resolve) => (locked = resolve))
      const gate = new Promise<void>((resolve) => (release = resolve))
      const other = inTransaction(db, async (trx) => {
        const head = await lockChainHead(trx)
        locked()
        await gate
        await insertRecords(trx, [buildRecord(logout(), head.last.seq + 1, head.now, head.last.hash)])
        throw new Error('the other writer rolls back')
      }).catch(() => undefined)
      await isLocked
      const event = logout()

      const writing = writer.write([{ event, maybeStored: false }])
      await waitUntil(
        async () => {
          const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%jsonb_to_recordset%'`.execute(db)
          return (rows[0]?.n ?? 0) > 0
        },
        { what: 'the fast path waiting for the chain head' },
      )
      release()
      const result = await writing
      await other

      assert.deepEqual(result.stored.map((r) => r.id), [event.id])
      assert.equal((await h.get('/audit/integrity', h.admin)).body.ok, true)
    })

    it('when events pile up while the chain is busy, they are written in a few large batches and the chain stays intact', async () => {
      const before = h.audit.consumer.stats()
      // Hold the chain head, as a slow database or another replica's long batch would.
      let locked!: () => void
      let release!: () => void
      const isLocked = new Promise<void>((resolve) => (locked = resolve))
      const gate = new Promise<void>((resolve) => (release = resolve))
      const holding = inTransaction(h.audit.deps.db, async (trx) => {
        await sql`select last_seq from audit_chain_head where id = 1 for update`.execute(trx)
        locked()
        await gate
      })
      await isLocked

      const events = await h.publish(...Array.from({ length: 300 }, (_, n) => ({ type: 'license.license.activated', source: 'license', data: { n } })))
      await waitUntil(() => h.audit.consumer.stats().pending >= Math.min(PREFETCH_DEFAULT, events.length), { timeoutMs: 15_000, what: 'the deliveries waiting' })
      release()
      await holding
      await h.waitForIds(events.map((e) => e.id))
      // The rows are visible once committed; the consumer counts a batch a moment later.
      await waitUntil(() => h.audit.consumer.stats().stored - before.stored >= 300, { timeoutMs: 5_000, what: 'the last batch counted' })

      const stats = h.audit.consumer.stats()
      assert.equal(stats.stored - before.stored, 300)
      assert.ok(stats.batches - before.batches <= 10, `300 events took ${stats.batches - before.batches} transactions`)
      assert.equal((await h.get('/audit/integrity', h.admin)).body.ok, true)
    })

    it('when a caller is not an admin, the admin routes answer 403 and /audit/me shows only their own records', async () => {
      const me = h.auth.token({ roles: ['user'] })
      const other = randomUUID()
      const events = await h.publish(
        { type: 'auth.login.succeeded', actor_id: me.sub, subject: { type: 'user', id: me.sub } },
        { type: 'auth.login.failed', subject: { type: 'user', id: me.sub }, outcome: 'failure' },
        { type: 'license.license.issued', source: 'license', actor_id: other, subject: { type: 'license', id: randomUUID() } },
        { type: 'auth.login.succeeded', actor_id: other, subject: { type: 'user', id: other } },
      )
      await h.waitForIds(events.map((e) => e.id))

      for (const path of ['/audit/events', '/audit/export', '/audit/integrity', '/audit/digests']) {
        const res = await h.get(path, me.token)
        assert.equal(res.status, 403, path)
        assert.equal(res.body.code, 'forbidden')
      }
      assert.equal((await h.get('/audit/me')).status, 401)
      const mine = await h.get('/audit/me?limit=1', me.token)
      const rest = await h.get(`/audit/me?cursor=${mine.body.next_cursor}`, me.token)

      assert.equal(mine.status, 200)
      assert.deepEqual([...mine.body.items, ...rest.body.items].map((r: AuditRecord) => r.id).sort(), [events[0]!.id, events[1]!.id].sort())
      assert.equal(rest.body.next_cursor, null)
    })

    it('when filters and a cursor are given, pages are newest first and hold only matching records', async () => {
      const actor = randomUUID()
      const base = Date.parse('2026-03-01T10:00:00Z')
      const events = await h.publish(
        ...Array.from({ length: 5 }, (_, i) => ({ type: 'license.license.activated', source: 'license', actor_id: actor, outcome: 'success' as const, occurred_at: new Date(base + i * 60_000).toISOString() })),
        { type: 'license.license.activated', source: 'license', actor_id: actor, outcome: 'denied', occurred_at: new Date(base + 120_000).toISOString() },
        { type: 'license.license.issued', source: 'license', actor_id: actor, outcome: 'success', occurred_at: new Date(base + 120_000).toISOString() },
      )
      await h.waitForIds(events.map((e) => e.id))

      const query = `actor_id=${actor}&action=license.license.activated&source=license&outcome=success&from=2026-03-01T10:01:00Z&to=2026-03-01T10:04:00Z&limit=2`
      const first = await h.get(`/audit/events?${query}`, h.admin)
      const second = await h.get(`/audit/events?${query}&cursor=${first.body.next_cursor}`, h.admin)
      const bad = await h.get('/audit/events?cursor=nonsense', h.admin)
      const unknown = await h.get('/audit/events?colour=red', h.admin)
      const tooMany = await h.get('/audit/events?limit=501', h.admin)

      assert.deepEqual([...first.body.items, ...second.body.items].map((r: AuditRecord) => r.occurred_at), ['2026-03-01T10:03:00.000Z', '2026-03-01T10:02:00.000Z', '2026-03-01T10:01:00.000Z'])
      assert.equal(second.body.next_cursor, null)
      for (const res of [bad, unknown, tooMany]) {
        assert.equal(res.status, 400)
        assert.equal(res.body.code, 'validation_failed')
      }
    })

    it('when a stored row is changed or removed behind the service, /audit/integrity reports its seq', async () => {
      const events = await h.publish(...Array.from({ length: 3 }, (_, n) => ({ data: { n } })))
      const [, middle] = await h.waitForIds(events.map((e) => e.id))
      const db = h.audit.deps.db
      const seq = String(middle!.seq)

      await db.updateTable('audit_records').set({ user_agent: 'tampered' }).where('seq', '=', seq).execute()
      const tampered = (await h.get('/audit/integrity', h.admin)).body
      await db.updateTable('audit_records').set({ user_agent: middle!.user_agent }).where('seq', '=', seq).execute()
      const restored = (await h.get('/audit/integrity', h.admin)).body
      await db.deleteFrom('audit_records').where('seq', '=', seq).execute()
      const removed = (await h.get('/audit/integrity', h.admin)).body
      await inTransaction(db, (trx) => insertRecords(trx, [middle!]))

      assert.equal(tampered.ok, false)
      assert.equal(tampered.first_bad_seq, middle!.seq)
      assert.equal(restored.ok, true)
      assert.equal(removed.ok, false)
      assert.equal(removed.first_bad_seq, middle!.seq)
      assert.equal((await h.get('/audit/integrity', h.admin)).body.ok, true)
    })

    it('when failed logins reach 5 for one account and one IP within 5 minutes, one alert per key is raised for 6 failures', async (t) => {
      const alerts: unknown[] = []
      const sub = await h.bus.subscribe('test.alerts', ['audit.alert.raised'], async (e) => void alerts.push(e))
      t.after(() => sub.close())
      const account = randomUUID()
      const ipHash = randomUUID().replaceAll('-', '')
      const start = Date.now() - 60_000
      const failures = Array.from({ length: 6 }, (_, i) => ({ type: 'auth.login.failed', subject: { type: 'user', id: account }, ip_hash: ipHash, outcome: 'failure' as const, occurred_at: new Date(start + i * 1000).toISOString() }))

      const early = await h.publish(...failures.slice(0, 3))
      await h.waitForIds(early.map((e) => e.id))
      const late = await h.publish(...failures.slice(3))
      await h.waitForIds(late.map((e) => e.id))
      await waitUntil(() => alerts.length >= 2, { timeoutMs: 10_000, what: 'the alerts' })
      // The alerts come back through platform.events and are recorded like any event.
      const raised = await waitForAlertsAbout(h, [account, ipHash])

      assert.deepEqual(raised.map((r) => r.details).sort((a, b) => String(a.rule).localeCompare(String(b.rule))), [
        { rule: 'failed_logins_account', subject: account, count: 5, window_s: 300 },
        { rule: 'failed_logins_ip', subject: ipHash, count: 5, window_s: 300 },
      ])
      assert.deepEqual(raised.map((r) => r.subject?.type).sort(), ['ip_hash', 'user'])
      assert.equal(alerts.length, 2)
    })

    it('when digests are signed, an export verifies offline against them, and a changed export does not', async () => {
      const events = await h.publish(...Array.from({ length: 4 }, (_, n) => ({ data: { n } })))
      const stored = await h.waitForIds(events.map((e) => e.id))
      const lastSeq = stored[stored.length - 1]!.seq
      await waitUntil(async () => (await allDigests(h)).some((d) => d.to_seq >= lastSeq), { timeoutMs: 10_000, what: `a digest covering seq ${lastSeq}` })

      const exported = await h.get('/audit/export', h.admin)
      const digests = await allDigests(h)
      const jwks = (await h.get('/audit/.well-known/jwks.json')).body
      const lines = exported.text.trim().split('\n')
      const good = await verifyExport({ exportLines: lines, digests, jwks })
      const altered = lines.map((line, i) => (i === 1 ? JSON.stringify({ ...JSON.parse(line), details: { altered: true } }) : line))
      const bad = await verifyExport({ exportLines: altered, digests, jwks })

      assert.match(exported.headers.get('content-type') ?? '', /^application\/x-ndjson/)
      const seqs = lines.map((l) => (JSON.parse(l) as AuditRecord).seq)
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i))
      assert.equal(good.ok, true, good.lines.join('\n'))
      assert.equal(bad.ok, false)
      assert.match(bad.lines.join('\n'), new RegExp(`record ${seqs[1]} was altered`))
      assert.equal(digests[0]!.previous_signature, null)
      digests.slice(1).forEach((d, i) => assert.equal(d.previous_signature, digests[i]!.signature))
      assert.equal(jwks.keys[0].kty, 'OKP')
    })

    it('when a message is not an event envelope, it is dead-lettered and the events behind it are stored', async () => {
      const dead = (await h.bus.deadLetters('audit.events')).length

      await h.bus.publishRaw('auth.login.failed', '{"not":"an envelope"}')
      const [behind] = await h.publish({ data: { behind: 'poison' } })

      await h.waitForIds([behind!.id])
      await waitUntil(async () => (await h.bus.deadLetters('audit.events')).length === dead + 1, { timeoutMs: 10_000, what: 'the dead letter' })
      assert.equal((await h.bus.deadLetters('audit.events'))[dead]!.reason, 'invalid')
    })

    it('when two replicas consume the same queue, every event is stored once on one unbroken chain', { skip: !setup.databaseUrl && 'replicas need a shared PostgreSQL' }, async () => {
      const second = await h.replica()
      const before = h.audit.consumer.stats().stored

      const events = await h.publish(...Array.from({ length: 400 }, (_, n) => ({ data: { n } })))
      await h.waitForIds(events.map((e) => e.id))

      assert.equal(h.audit.consumer.stats().stored - before + second.consumer.stats().stored, 400)
      assert.ok(second.consumer.stats().stored > 0, 'the second replica did some of the work')
      assert.equal((await h.get('/audit/integrity', h.admin)).body.ok, true)
    })

    it('when records pass retention, a prefix of the chain is purged and the rest still verifies from the anchor', async () => {
      const relayed = async () => Number((await h.audit.deps.db.selectFrom('audit_record_relay').select('relayed_seq').executeTakeFirstOrThrow()).relayed_seq)
      const early = await h.publish(...Array.from({ length: 3 }, (_, n) => ({ data: { n } })))
      const third = (await h.waitForIds(early.map((e) => e.id)))[2]!
      const cutoff = new Date(Date.parse(third.recorded_at) + 1)
      await new Promise((resolve) => setTimeout(resolve, 20))
      const late = await h.publish(...Array.from({ length: 2 }, (_, n) => ({ data: { n } })))
      const [fourth] = await h.waitForIds(late.map((e) => e.id))
      await waitUntil(async () => (await relayed()) >= fourth!.seq + 1, { what: 'every record republished' })

      const result = await h.audit.jobs.purge(cutoff)
      const afterPurge = (await h.get('/audit/integrity', h.admin)).body
      const [next] = await h.publish({ data: { after: true } })
      await h.waitForIds([next!.id])

      assert.deepEqual(result.anchor, { seq: third.seq, hash: third.hash })
      assert.equal(result.purged, third.seq)
      assert.deepEqual(afterPurge, { ok: true, checked: 2 })
      assert.deepEqual((await h.get('/audit/integrity', h.admin)).body, { ok: true, checked: 3 })
      const remaining = (await h.get('/audit/events', h.admin)).body.items as AuditRecord[]
      assert.ok(remaining.every((r) => r.seq > third.seq))
      assert.equal(remaining.find((r) => r.seq === third.seq + 1)?.prev_hash, third.hash)
    })
  })
}

async function allDigests(h: Harness) {
  const items: { to_seq: number; signature: string; previous_signature: string | null }[] = []
  let cursor: string | null = null
  do {
    const page: { items: typeof items; next_cursor: string | null } = (await h.get(`/audit/digests?limit=500${cursor ? `&cursor=${cursor}` : ''}`, h.admin)).body
    items.push(...page.items)
    cursor = page.next_cursor
  } while (cursor)
  return items as Parameters<typeof verifyExport>[0]['digests']
}

async function waitForAlertsAbout(h: Harness, keys: string[]): Promise<AuditRecord[]> {
  let found: AuditRecord[] = []
  await waitUntil(
    async () => {
      const items = (await h.get('/audit/events?action=audit.alert.raised&limit=500', h.admin)).body.items as AuditRecord[]
      found = items.filter((r) => keys.includes(String(r.details.subject)))
      return found.length >= keys.length
    },
    { timeoutMs: 10_000, what: 'the alert records' },
  )
  return found
}
