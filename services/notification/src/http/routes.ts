import { Router } from 'express'
import type { Kysely } from 'kysely'
import { AppError, parseInput } from '@platform/platform'
import type { BearerVerifier } from '@platform/tokens'
import { claimsOf, requireBearer } from '@platform/tokens/express'
import { listDeliveries } from '../store/deliveries.ts'
import type { NotificationDatabase } from '../store/schema.ts'
import { deliveriesQuery, deliveryToWire, encodeCursor } from './deliveries.ts'

export type HttpDeps = { db: Kysely<NotificationDatabase>; verifier: BearerVerifier }

/** The `/notifications` routes of CONTRACT §9: handlers parse, call, map to the wire. */
export function notificationRoutes(deps: HttpDeps): Router {
  const router = Router()
  const bearer = requireBearer(deps.verifier)

  router.get('/deliveries', bearer, async (req, res) => {
    if (!claimsOf(res).roles.includes('admin')) throw new AppError('forbidden', 'Only administrators may list deliveries')
    const query = parseInput(deliveriesQuery, req.query)
    // One row more than the page tells whether another page follows.
    const rows = await listDeliveries(deps.db, { to: query.to, status: query.status, before: query.cursor, limit: query.limit + 1 })
    const page = rows.slice(0, query.limit)
    res.json({
      items: page.map(deliveryToWire),
      next_cursor: rows.length > query.limit ? encodeCursor(page[page.length - 1]!.id) : null,
    })
  })

  return router
}
