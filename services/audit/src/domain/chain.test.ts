import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createEnvelope } from '@platform/bus'
import { createChainVerifier } from './chain.ts'
import { buildRecord, GENESIS_HASH, hashRecord, type AuditRecord } from './record.ts'

function chainOf(length: number, start = { seq: 0, hash: GENESIS_HASH }): AuditRecord[] {
  const records: AuditRecord[] = []
  let previous = start
  for (let i = 0; i < length; i++) {
    const event = createEnvelope({ type: 'auth.login.failed', source: 'auth', subject: { type: 'user', id: `u${i}` }, data: { n: i, password: 'x' } })
    const record = buildRecord(event, previous.seq + 1, new Date(), previous.hash)
    records.push(record)
    previous = { seq: record.seq, hash: record.hash }
  }
  return records
}

function verify(records: AuditRecord[], anchor?: { seq: number; hash: string }, head?: { seq: number; hash: string }) {
  const verifier = createChainVerifier(anchor)
  for (const record of records) if (!verifier.push(record)) break
  if (head) verifier.expectEnd(head)
  return verifier.verdict()
}

describe('buildRecord', () => {
  it('when an event becomes a record, its hash covers every field but itself, prev_hash included', () => {
    const [record] = chainOf(1)

    assert.equal(record!.hash, hashRecord(record!))
    assert.match(record!.hash, /^[0-9a-f]{64}$/)
    assert.equal(record!.prev_hash, GENESIS_HASH)
    assert.equal(record!.details.password, '[redacted]')
    assert.notEqual(hashRecord({ ...record!, prev_hash: 'f'.repeat(64) }), record!.hash)
  })

  it('when occurred_at has microseconds or an offset, it is stored as UTC milliseconds', () => {
    const event = createEnvelope({ type: 'auth.ping.sent', source: 'auth', occurred_at: '2026-01-02T03:04:05.123456+02:00', data: {} })

    const record = buildRecord(event, 1, new Date('2026-01-02T01:04:06Z'), GENESIS_HASH)

    assert.equal(record.occurred_at, '2026-01-02T01:04:05.123Z')
  })
})

describe('createChainVerifier', () => {
  it('when the chain is intact from genesis to the head, it is ok and counts every record', () => {
    const records = chainOf(5)

    const verdict = verify(records, { seq: 0, hash: GENESIS_HASH }, { seq: 5, hash: records[4]!.hash })

    assert.deepEqual(verdict, { ok: true, checked: 5, last: { seq: 5, hash: records[4]!.hash } })
  })

  it('when a field of a record was changed, reports that record', () => {
    const records = chainOf(5)
    records[2] = { ...records[2]!, details: { n: 99 } }

    const verdict = verify(records, { seq: 0, hash: GENESIS_HASH })

    assert.equal(verdict.ok, false)
    assert.equal(verdict.first_bad_seq, 3)
    assert.match(verdict.reason!, /altered/)
  })

  it('when a record was changed and re-hashed, reports the next record, which no longer links', () => {
    const records = chainOf(5)
    const forged = { ...records[1]!, details: { n: 99 } }
    records[1] = { ...forged, hash: hashRecord(forged) }

    const verdict = verify(records, { seq: 0, hash: GENESIS_HASH })

    assert.equal(verdict.first_bad_seq, 3)
    assert.match(verdict.reason!, /does not link/)
  })

  it('when a record is missing from the middle or the tail, reports the missing seq', () => {
    const records = chainOf(5)

    const middle = verify([...records.slice(0, 2), ...records.slice(3)], { seq: 0, hash: GENESIS_HASH })
    const tail = verify(records.slice(0, 3), { seq: 0, hash: GENESIS_HASH }, { seq: 5, hash: records[4]!.hash })

    assert.equal(middle.first_bad_seq, 3)
    assert.equal(tail.first_bad_seq, 4)
  })

  it('when the chain starts after a purge, it must link to the anchor', () => {
    const records = chainOf(6)
    const anchor = { seq: 3, hash: records[2]!.hash }

    const good = verify(records.slice(3), anchor, { seq: 6, hash: records[5]!.hash })
    const wrongAnchor = verify(records.slice(3), { seq: 3, hash: GENESIS_HASH })

    assert.equal(good.ok, true)
    assert.equal(good.checked, 3)
    assert.equal(wrongAnchor.first_bad_seq, 4)
  })

  it('when no anchor is given (an export slice), the first prev_hash is taken as given', () => {
    const records = chainOf(6)

    assert.equal(verify(records.slice(2)).ok, true)
  })
})
