import { once } from 'node:events'
import { Router, type NextFunction, type Request, type Response } from 'express'
import type { Kysely } from 'kysely'
import { AppError, parseInput } from '@platform/platform'
import type { BearerVerifier } from '@platform/tokens'
import { claimsOf, requireBearer } from '@platform/tokens/express'
import type { DigestSigningKey } from '../domain/digest.ts'
import { checkIntegrity } from '../domain/integrity.ts'
import { listDigests, signingKeys } from '../store/digests.ts'
import { exportRange, listRecords, recordsAfter } from '../store/records.ts'
import type { AuditDatabase } from '../store/schema.ts'
import { decodeListCursor, decodeNumberCursor, encodeListCursor, encodeNumberCursor } from './cursor.ts'
import { digestsQuery, eventsQuery, exportQuery, meQuery, noQuery } from './schemas.ts'

/** What the routes need. */
export type AuditHttpDeps = {
  db: Kysely<AuditDatabase>
  /** Checks bearer tokens: auth's JWKS and the shared revocation lists. */
  verifier: BearerVerifier
  signingKey: DigestSigningKey
}

const EXPORT_PAGE_SIZE = 1_000

/** The `/audit` routes of CONTRACT §8: handlers parse, call the store or domain, map to the wire. */
export function auditRoutes(deps: AuditHttpDeps): Router {
  const router = Router()
  const bearer = requireBearer(deps.verifier)
  const admin = [bearer, requireAdmin]

  router.get('/.well-known/jwks.json', async (_req, res) => {
    const keys = await signingKeys(deps.db)
    if (!keys.some((k) => k.kid === deps.signingKey.kid)) keys.push(deps.signingKey.publicJwk)
    res.setHeader('Cache-Control', 'public, max-age=60')
    res.json({ keys })
  })

  router.get('/events', ...admin, async (req, res) => {
    const q = parseInput(eventsQuery, req.query)
    const page = await listRecords(
      deps.db,
      { actorId: q.actor_id, action: q.action, source: q.source, outcome: q.outcome, from: q.from, to: q.to },
      { limit: q.limit, after: decodeListCursor(q.cursor) },
    )
    res.json({ items: page.items, next_cursor: page.next ? encodeListCursor(page.next) : null })
  })

  router.get('/me', bearer, async (req, res) => {
    const q = parseInput(meQuery, req.query)
    const page = await listRecords(deps.db, { involving: claimsOf(res).sub }, { limit: q.limit, after: decodeListCursor(q.cursor) })
    res.json({ items: page.items, next_cursor: page.next ? encodeListCursor(page.next) : null })
  })

  router.get('/integrity', ...admin, async (req, res) => {
    parseInput(noQuery, req.query)
    res.json(await checkIntegrity(deps.db))
  })

  router.get('/digests', ...admin, async (req, res) => {
    const q = parseInput(digestsQuery, req.query)
    const page = await listDigests(deps.db, { from: q.from, to: q.to }, { limit: q.limit, after: decodeNumberCursor(q.cursor) })
    res.json({ items: page.items, next_cursor: page.next !== undefined ? encodeNumberCursor(page.next) : null })
  })

  router.get('/export', ...admin, async (req, res) => {
    const q = parseInput(exportQuery, req.query)
    const range = await exportRange(deps.db, { from: q.from, to: q.to })
    res.status(200).type('application/x-ndjson')
    res.setHeader('Content-Disposition', 'attachment; filename="audit-export.ndjson"')
    if (!range) {
      res.end()
      return
    }
    // Page by page, honouring back-pressure: an export of millions of records holds one page.
    let after = range.fromSeq - 1
    while (after < range.toSeq && !res.destroyed) {
      const page = await recordsAfter(deps.db, after, { limit: EXPORT_PAGE_SIZE, toSeq: range.toSeq })
      if (page.length === 0) break
      if (!res.write(page.map((record) => `${JSON.stringify(record)}\n`).join(''))) {
        await Promise.race([once(res, 'drain'), once(res, 'close')])
      }
      after = page[page.length - 1]!.seq
    }
    res.end()
  })

  return router
}

function requireAdmin(_req: Request, res: Response, next: NextFunction): void {
  if (!claimsOf(res).roles.includes('admin')) throw new AppError('forbidden', 'This route is for administrators')
  next()
}
