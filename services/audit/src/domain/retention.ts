import { sql, type Kysely } from 'kysely'
import { inTransaction } from '@platform/db'
import { forgetAlertsBefore } from '../store/alert-state.ts'
import { lockChainHead, moveAnchor } from '../store/chain-head.ts'
import { deleteDigestsBefore } from '../store/digests.ts'
import type { AuditDatabase } from '../store/schema.ts'
import { FAILED_LOGIN_WINDOW_S } from './alerts.ts'

/** Records deleted per transaction, so a big purge never holds the chain head for long. */
const PURGE_CHUNK_DEFAULT = 5_000

export type PurgeResult = { purged: number; anchor: { seq: number; hash: string } }

/**
 * Deletes the records recorded before `cutoff` while keeping the chain verifiable. Only a
 * prefix of the chain is ever removed (up to the record before the first one recorded at or
 * after the cutoff), and the hash of the last record removed becomes the chain's anchor: the
 * `prev_hash` the first remaining record must carry, where integrity checks now start. Records
 * not yet republished on `audit.records` are kept whatever their age. Works in chunks, each its
 * own transaction under the chain-head lock. Also drops digests (all but the latest) and alert
 * state that have outlived their use (the outbox relay prunes its own tables).
 */
export async function purgeExpired(db: Kysely<AuditDatabase>, opts: { cutoff: Date; chunk?: number }): Promise<PurgeResult> {
  const chunk = opts.chunk ?? PURGE_CHUNK_DEFAULT
  const cutoff = opts.cutoff.toISOString()
  let purged = 0
  let anchor: PurgeResult['anchor']
  for (;;) {
    const step = await inTransaction(db, async (trx) => {
      const head = await lockChainHead(trx)
      const relay = await trx.selectFrom('audit_record_relay').select('relayed_seq').where('id', '=', 1).executeTakeFirstOrThrow()
      // Walks the primary key from the oldest record: only expired rows (about to go) are read.
      const firstKept = await trx.selectFrom('audit_records').select('seq').where('recorded_at', '>=', sql<Date>`${cutoff}::timestamptz`).orderBy('seq').limit(1).executeTakeFirst()
      const limit = Math.min(firstKept ? Number(firstKept.seq) - 1 : head.last.seq, Number(relay.relayed_seq), head.anchor.seq + chunk)
      if (limit <= head.anchor.seq) return { deleted: 0, anchor: head.anchor }
      const last = await trx.selectFrom('audit_records').select('hash').where('seq', '=', String(limit)).executeTakeFirstOrThrow()
      const result = await trx.deleteFrom('audit_records').where('seq', '>', String(head.anchor.seq)).where('seq', '<=', String(limit)).executeTakeFirst()
      const next = { seq: limit, hash: last.hash }
      await moveAnchor(trx, next)
      return { deleted: Number(result.numDeletedRows), anchor: next }
    })
    purged += step.deleted
    anchor = step.anchor
    if (step.deleted < chunk) break
  }
  await deleteDigestsBefore(db, cutoff)
  await forgetAlertsBefore(db, new Date(Date.now() - 2 * FAILED_LOGIN_WINDOW_S * 1000).toISOString())
  return { purged, anchor }
}
