import { hashRecord, type AuditRecord } from './record.ts'

/** Where a chain (or a slice of it) starts: the seq before its first record and that record's `prev_hash`. */
export type ChainAnchor = { seq: number; hash: string }

/** What a re-hash of the chain found. `first_bad_seq` is absent when `ok`. */
export type ChainVerdict = { ok: boolean; checked: number; first_bad_seq?: number; reason?: string; last?: ChainAnchor }

/**
 * Re-hashes records in `seq` order, checking that each one's hash matches its content, that it
 * links to the one before by `prev_hash`, and that no `seq` is missing. With `anchor`, the first
 * record must follow it; without, the first record's `prev_hash` is taken on trust (an export
 * slice). Stops at the first bad record: `first_bad_seq` is its seq, or the missing seq for a gap.
 * Used by `GET /audit/integrity` over the database and by the offline verify CLI over an export.
 */
export function createChainVerifier(anchor?: ChainAnchor) {
  let expected: ChainAnchor | undefined = anchor
  let checked = 0
  let failure: { seq: number; reason: string } | undefined

  return {
    /** Feeds the next record; returns false once the chain is broken (further records are ignored). */
    push(record: AuditRecord): boolean {
      if (failure) return false
      checked++
      if (expected && record.seq !== expected.seq + 1) {
        failure = { seq: expected.seq + 1, reason: record.seq > expected.seq + 1 ? `record ${expected.seq + 1} is missing` : `record ${record.seq} is out of order` }
        return false
      }
      if (expected && record.prev_hash !== expected.hash) {
        failure = { seq: record.seq, reason: `record ${record.seq} does not link to record ${expected.seq} (prev_hash differs)` }
        return false
      }
      if (hashRecord(record) !== record.hash) {
        failure = { seq: record.seq, reason: `record ${record.seq} was altered (its hash does not match its content)` }
        return false
      }
      expected = { seq: record.seq, hash: record.hash }
      return true
    },
    /** Declares where the chain must end (the chain head); a shorter chain is missing its tail. */
    expectEnd(head: ChainAnchor): void {
      if (failure) return
      const last = expected?.seq ?? head.seq
      if (last < head.seq) failure = { seq: last + 1, reason: `records ${last + 1}..${head.seq} are missing` }
      else if (expected && expected.seq === head.seq && expected.hash !== head.hash) failure = { seq: head.seq, reason: `record ${head.seq} is not the chain head the log recorded` }
    },
    verdict(): ChainVerdict {
      if (failure) return { ok: false, checked, first_bad_seq: failure.seq, reason: failure.reason }
      return { ok: true, checked, ...(expected ? { last: expected } : {}) }
    },
  }
}
