import type { Kysely } from 'kysely'
import { readChainHead } from '../store/chain-head.ts'
import { recordsAfter } from '../store/records.ts'
import type { AuditDatabase } from '../store/schema.ts'
import { createChainVerifier, type ChainVerdict } from './chain.ts'

const PAGE_SIZE = 1_000

/**
 * Re-hashes the whole stored chain, from its anchor (genesis, or the last purged record) to the
 * head as committed when the check began, page by page so memory stays flat. Reports the first
 * record that was altered, unlinked or is missing.
 */
export async function checkIntegrity(db: Kysely<AuditDatabase>): Promise<{ ok: boolean; checked: number; first_bad_seq?: number }> {
  const head = await readChainHead(db)
  const verifier = createChainVerifier(head.anchor)
  let after = head.anchor.seq
  while (after < head.last.seq) {
    const page = await recordsAfter(db, after, { limit: PAGE_SIZE, toSeq: head.last.seq })
    if (page.length === 0) break
    let intact = true
    for (const record of page) {
      intact = verifier.push(record)
      if (!intact) break
    }
    if (!intact) break
    after = page[page.length - 1]!.seq
  }
  verifier.expectEnd(head.last)
  const verdict: ChainVerdict = verifier.verdict()
  return verdict.ok ? { ok: true, checked: verdict.checked } : { ok: false, checked: verdict.checked, first_bad_seq: verdict.first_bad_seq! }
}
