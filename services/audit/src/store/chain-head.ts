import { sql, type Transaction } from 'kysely'
import type { Executor } from '@platform/db'
import type { ChainAnchor } from '../domain/chain.ts'
import type { AuditDatabase } from './schema.ts'

/** The chain head, its anchor (last purged record, or genesis) and when the chain began. */
export type ChainHead = { last: ChainAnchor; anchor: ChainAnchor; createdAt: Date }

/**
 * Locks the head row for the rest of the transaction (`SELECT … FOR UPDATE`): every writer of the
 * chain goes through here, so batches from any number of replicas extend it one after another.
 * `now` is the database clock read after the lock was granted, so `recorded_at` never goes back
 * in seq order however many replicas write.
 */
export async function lockChainHead(trx: Transaction<AuditDatabase>): Promise<ChainHead & { now: Date }> {
  const row = await trx
    .selectFrom('audit_chain_head')
    .select(['last_seq', 'last_hash', 'anchor_seq', 'anchor_hash', 'created_at', sql<Date>`clock_timestamp()`.as('now')])
    .where('id', '=', 1)
    .forUpdate()
    .executeTakeFirstOrThrow()
  return { ...headOf(row), now: new Date(row.now) }
}

/** The head as last committed, without a lock (integrity checks, digests' readers). */
export async function readChainHead(db: Executor<AuditDatabase>): Promise<ChainHead> {
  const row = await db.selectFrom('audit_chain_head').select(['last_seq', 'last_hash', 'anchor_seq', 'anchor_hash', 'created_at']).where('id', '=', 1).executeTakeFirstOrThrow()
  return headOf(row)
}

export async function moveAnchor(trx: Transaction<AuditDatabase>, anchor: ChainAnchor): Promise<void> {
  await trx.updateTable('audit_chain_head').set({ anchor_seq: anchor.seq, anchor_hash: anchor.hash }).where('id', '=', 1).execute()
}

function headOf(row: { last_seq: string; last_hash: string; anchor_seq: string; anchor_hash: string; created_at: Date }): ChainHead {
  return {
    last: { seq: Number(row.last_seq), hash: row.last_hash },
    anchor: { seq: Number(row.anchor_seq), hash: row.anchor_hash },
    createdAt: new Date(row.created_at),
  }
}
