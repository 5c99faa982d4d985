import type { RequestHandler } from 'express'
import { parseInput } from '@platform/platform'
import type { z } from 'zod'
import { disableUser, findUsers, setUserRoles } from '../domain/admin-users.ts'
import type { AuthDeps } from '../domain/deps.ts'
import { revokeAllTokens } from '../domain/revoke.ts'
import { api, type OperationId } from './api.ts'
import type { adminUserAnswer, kidAnswer, usersAnswer } from './schemas.ts'
import { adminUserOf, decodeCursor, encodeCursor, pathId } from './wire.ts'

type AdminUser = z.input<typeof adminUserAnswer>

/** Administration; who may call each one is the route's permission (domain/policy.ts). */
export function adminHandlers(deps: AuthDeps) {
  return {
    listUsers: async (req, res) => {
      const query = parseInput(api.listUsers.query, req.query)
      const page = await findUsers(deps, { email: query.email, role: query.role, cursor: decodeCursor(query.cursor), limit: query.limit })
      res.json({
        items: page.items.map((user) => adminUserOf(user) as AdminUser),
        next_cursor: encodeCursor(page.nextCursor),
      } satisfies z.input<typeof usersAnswer>)
    },

    setRoles: async (req, res) => {
      const id = pathId(req, 'user_not_found')
      const { roles } = parseInput(api.setRoles.body, req.body ?? {})
      const user = await setUserRoles(deps, id, roles)
      res.json(adminUserOf(user) as AdminUser)
    },

    disableUser: async (req, res) => {
      const id = pathId(req, 'user_not_found')
      parseInput(api.disableUser.body, req.body ?? {})
      await disableUser(deps, id)
      res.status(204).end()
    },

    revokeAll: async (req, res) => {
      parseInput(api.revokeAll.body, req.body ?? {})
      await revokeAllTokens(deps)
      res.status(204).end()
    },

    rotateKey: async (req, res) => {
      parseInput(api.rotateKey.body, req.body ?? {})
      res.json({ kid: await deps.keys.rotate() } satisfies z.input<typeof kidAnswer>)
    },
  } satisfies Partial<Record<OperationId, RequestHandler>>
}
