import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { createChainVerifier } from '../domain/chain.ts'
import { verifyDigestSignature, type SignedDigest } from '../domain/digest.ts'
import type { AuditRecord } from '../domain/record.ts'

/** The outcome of an offline verification: `ok` decides the exit code, `lines` explain it. */
export type VerifyReport = { ok: boolean; lines: string[] }

/** What to verify: the export's lines, the signed digests, the JWKS of `GET /audit/.well-known/jwks.json`. */
export type VerifyInput = { exportLines: AsyncIterable<string> | Iterable<string>; digests: SignedDigest[]; jwks: { keys: unknown[] } }

/**
 * Verifies an exported slice of the audit log without the database, trusting only the public
 * keys: (1) every record's hash matches its content and links to the one before, with no seq
 * missing; (2) every digest is signed by a key of the JWKS, and consecutive digests chain by
 * `previous_signature`, `from_seq` and interval; (3) wherever a digest's `to_seq` falls inside
 * the export, that record's hash equals the signed `head_hash`. A record covered by (3) cannot
 * have been changed, removed or inserted without breaking a signature, since the hash chain ties
 * it to the signed head. Passing requires that at least one record is covered; records after the
 * last digest are reported as not yet covered.
 */
export async function verifyExport(input: VerifyInput): Promise<VerifyReport> {
  const failures: string[] = []
  const notes: string[] = []
  const digests = [...input.digests].sort((a, b) => a.from_seq - b.from_seq || Date.parse(a.interval_start) - Date.parse(b.interval_start))

  // 2. Signatures and the digest chain.
  digests.forEach((digest, i) => {
    const name = digestName(digest, i)
    if (!verifyDigestSignature(digest, input.jwks)) failures.push(`${name}: signature does not verify with any key of the JWKS (kid ${digest.kid})`)
    const previous = digests[i - 1]
    if (!previous) return
    if (digest.previous_signature !== previous.signature) failures.push(`${name}: previous_signature is not the signature of the digest before it (a digest is missing or was altered)`)
    if (digest.from_seq !== previous.to_seq + 1) failures.push(`${name}: starts at seq ${digest.from_seq}, but the digest before it ended at ${previous.to_seq}`)
    if (digest.interval_start !== previous.interval_end) failures.push(`${name}: its interval does not start where the one before it ended`)
  })

  // 1. The chain, remembering the hashes digests will be compared with.
  const wanted = new Set(digests.map((d) => d.to_seq))
  const hashAt = new Map<number, string>()
  const verifier = createChainVerifier()
  let first: number | undefined
  let last: number | undefined
  let lineNumber = 0
  for await (const line of input.exportLines) {
    lineNumber++
    if (line.trim() === '') continue
    const record = parseRecord(line)
    if (!record) {
      failures.push(`line ${lineNumber} is not an audit record`)
      break
    }
    first ??= record.seq
    if (!verifier.push(record)) break
    last = record.seq
    if (wanted.has(record.seq)) hashAt.set(record.seq, record.hash)
  }
  const chain = verifier.verdict()
  if (!chain.ok) failures.unshift(chain.reason ?? `chain broken at seq ${chain.first_bad_seq}`)
  if (first === undefined) failures.push('the export holds no records')

  // 3. Signed heads against the records.
  let coveredTo: number | undefined
  let coveredBy: SignedDigest | undefined
  if (chain.ok && first !== undefined && last !== undefined) {
    digests.forEach((digest, i) => {
      const hash = hashAt.get(digest.to_seq)
      if (hash === undefined) return
      if (hash !== digest.head_hash) {
        failures.push(`record ${digest.to_seq} does not match ${digestName(digest, i)}: the export was altered after it was signed`)
        return
      }
      if (coveredTo === undefined || digest.to_seq > coveredTo) {
        coveredTo = digest.to_seq
        coveredBy = digest
      }
    })
    const beyond = digests.filter((d) => d.to_seq > last!).length
    if (beyond > 0) notes.push(`${beyond} digest(s) cover records after seq ${last}, which are not in this export`)
    if (coveredTo === undefined) failures.push(`no record of this export (seq ${first}..${last}) is covered by a signed digest; wait for the next digest or pass the digests that cover it`)
    else if (coveredTo < last) notes.push(`records ${coveredTo + 1}..${last} are not covered by a signed digest yet`)
  }

  if (failures.length > 0) return { ok: false, lines: failures.map((f) => `FAILED: ${f}`) }
  return {
    ok: true,
    lines: [
      `OK: ${chain.checked} records (seq ${first}..${last}) form an intact hash chain`,
      `OK: ${digests.length} digest(s) carry valid signatures and chain to each other`,
      `OK: records ${first}..${coveredTo} are covered by the digest signed at ${coveredBy!.interval_end} (kid ${coveredBy!.kid})`,
      ...notes.map((n) => `note: ${n}`),
    ],
  }
}

/** The lines of a file, streamed (an export can be larger than memory). */
export function fileLines(path: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })
}

/** Digests from `GET /audit/digests` answers (`{items}`) or plain arrays, several files merged. */
export function digestsOf(documents: unknown[]): SignedDigest[] {
  const all: SignedDigest[] = []
  for (const doc of documents) {
    const items = Array.isArray(doc) ? doc : (doc as { items?: unknown })?.items
    if (!Array.isArray(items)) throw new Error('a digests file must be the JSON of GET /audit/digests ({"items": [...]}) or an array of digests')
    all.push(...(items as SignedDigest[]))
  }
  const bySignature = new Map(all.map((d) => [d.signature, d]))
  return [...bySignature.values()]
}

function digestName(digest: SignedDigest & { number?: number }, index: number): string {
  return digest.number !== undefined ? `digest #${digest.number}` : `digest ${index + 1} (seq ${digest.from_seq}..${digest.to_seq})`
}

function parseRecord(line: string): AuditRecord | undefined {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return undefined
  }
  const r = value as AuditRecord
  const ok = typeof r === 'object' && r !== null && Number.isSafeInteger(r.seq) && typeof r.hash === 'string' && typeof r.prev_hash === 'string' && typeof r.id === 'string'
  return ok ? r : undefined
}
