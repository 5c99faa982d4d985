import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createEnvelope } from '@platform/bus'
import { digestKeyFromPem, generateDigestKeyPem, signDigest, type SignedDigest } from '../domain/digest.ts'
import { buildRecord, GENESIS_HASH, hashRecord, type AuditRecord } from '../domain/record.ts'
import { verifyExport } from './verify-export.ts'

const key = digestKeyFromPem(generateDigestKeyPem())
const jwks = { keys: [key.publicJwk] }

function chainOf(length: number): AuditRecord[] {
  const records: AuditRecord[] = []
  let previous = { seq: 0, hash: GENESIS_HASH }
  for (let i = 0; i < length; i++) {
    const record = buildRecord(createEnvelope({ type: 'auth.login.succeeded', source: 'auth', data: { i } }), previous.seq + 1, new Date(), previous.hash)
    records.push(record)
    previous = { seq: record.seq, hash: record.hash }
  }
  return records
}

/** Digests every `every` records, chained, as the service issues them. */
function digestsOf(records: AuditRecord[], every: number): SignedDigest[] {
  const digests: SignedDigest[] = []
  for (let to = every; to <= records.length; to += every) {
    const previous = digests[digests.length - 1]
    digests.push(signDigest(key, {
      interval_start: new Date(Date.UTC(2026, 0, 1, digests.length)).toISOString(),
      interval_end: new Date(Date.UTC(2026, 0, 1, digests.length + 1)).toISOString(),
      from_seq: previous ? previous.to_seq + 1 : 1,
      to_seq: to,
      head_hash: records[to - 1]!.hash,
      previous_signature: previous?.signature ?? null,
    }))
  }
  return digests
}

const lines = (records: AuditRecord[]) => records.map((r) => JSON.stringify(r))

describe('verifyExport', () => {
  it('when the export and its digests are intact, passes and says which records are covered', async () => {
    const records = chainOf(10)

    const report = await verifyExport({ exportLines: lines(records), digests: digestsOf(records, 4), jwks })

    assert.equal(report.ok, true, report.lines.join('\n'))
    assert.match(report.lines.join('\n'), /records 1\.\.8 are covered/)
    assert.match(report.lines.join('\n'), /records 9\.\.10 are not covered/)
  })

  it('when every hash was recomputed after a change, the signed head no longer matches', async () => {
    const records = chainOf(8)
    const digests = digestsOf(records, 4)
    const forged: AuditRecord[] = []
    let previous = GENESIS_HASH
    for (const record of records) {
      const changed = { ...record, details: record.seq === 2 ? { i: 'forged' } : record.details, prev_hash: previous }
      const rehashed = { ...changed, hash: hashRecord(changed) }
      forged.push(rehashed)
      previous = rehashed.hash
    }

    const report = await verifyExport({ exportLines: lines(forged), digests, jwks })

    assert.equal(report.ok, false)
    assert.match(report.lines.join('\n'), /record 4 does not match digest 1/)
  })

  it('when a digest is left out or one is signed by another key, fails', async () => {
    const records = chainOf(12)
    const digests = digestsOf(records, 4)
    const other = digestKeyFromPem(generateDigestKeyPem())

    const missing = await verifyExport({ exportLines: lines(records), digests: [digests[0]!, digests[2]!], jwks })
    const foreign = await verifyExport({ exportLines: lines(records), digests: [digests[0]!, { ...signDigest(other, digests[1]!), kid: key.kid }], jwks })

    assert.equal(missing.ok, false)
    assert.match(missing.lines.join('\n'), /previous_signature/)
    assert.equal(foreign.ok, false)
    assert.match(foreign.lines.join('\n'), /signature does not verify/)
  })

  it('when no digest covers any record of the export, fails rather than vouching for it', async () => {
    const records = chainOf(3)

    const report = await verifyExport({ exportLines: lines(records), digests: [], jwks })

    assert.equal(report.ok, false)
    assert.match(report.lines.join('\n'), /no record of this export/)
  })

  it('when a line is not a record, fails naming the line', async () => {
    const report = await verifyExport({ exportLines: ['{"seq": "x"}'], digests: [], jwks })

    assert.equal(report.ok, false)
    assert.match(report.lines[0]!, /line 1 is not an audit record/)
  })
})
