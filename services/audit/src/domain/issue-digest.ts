import type { Kysely } from 'kysely'
import { inTransaction } from '@platform/db'
import { lockChainHead } from '../store/chain-head.ts'
import { insertDigest, latestDigest, type StoredDigest } from '../store/digests.ts'
import type { AuditDatabase } from '../store/schema.ts'
import { signDigest, type DigestSigningKey } from './digest.ts'

/**
 * Signs the next digest if one is due: the previous one ended at least `intervalSeconds` ago (or
 * there is none yet and the chain is that old). Runs under the chain-head lock, so the head it
 * signs is exactly the committed head, and replicas that wake together issue one digest, not
 * several. Each interval starts where the previous one ended, so the digests tile time with no
 * gap; an interval with no new records still gets its digest (`from_seq` = `to_seq` + 1), as
 * silence is also something to attest. Returns the new digest, or undefined when none was due.
 */
export async function issueDigestIfDue(db: Kysely<AuditDatabase>, key: DigestSigningKey, opts: { intervalSeconds: number }): Promise<StoredDigest | undefined> {
  return inTransaction(db, async (trx) => {
    const head = await lockChainHead(trx)
    const previous = await latestDigest(trx)
    const intervalStart = previous ? new Date(previous.interval_end) : head.createdAt
    if (head.now.getTime() - intervalStart.getTime() < opts.intervalSeconds * 1000) return undefined
    const signed = signDigest(key, {
      interval_start: intervalStart.toISOString(),
      interval_end: head.now.toISOString(),
      from_seq: previous ? previous.to_seq + 1 : head.anchor.seq + 1,
      to_seq: head.last.seq,
      head_hash: head.last.hash,
      previous_signature: previous?.signature ?? null,
    })
    const digest: StoredDigest = { ...signed, number: (previous?.number ?? 0) + 1 }
    await insertDigest(trx, digest)
    return digest
  })
}

/** When the next digest is due, for the scheduler: the end of the latest interval plus one interval. */
export async function nextDigestDue(db: Kysely<AuditDatabase>, opts: { intervalSeconds: number }): Promise<Date> {
  const previous = await latestDigest(db)
  const start = previous ? new Date(previous.interval_end) : (await db.selectFrom('audit_chain_head').select('created_at').where('id', '=', 1).executeTakeFirstOrThrow()).created_at
  return new Date(new Date(start).getTime() + opts.intervalSeconds * 1000)
}
