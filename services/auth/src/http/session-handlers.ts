import type { RequestHandler } from 'express'
import { parseInput } from '@platform/platform'
import type { z } from 'zod'
import { changePassword } from '../domain/change-password.ts'
import type { AuthDeps } from '../domain/deps.ts'
import { listOwnSessions, revokeOwnSession } from '../domain/sessions.ts'
import { api, type OperationId } from './api.ts'
import { claimsOf } from './bearer.ts'
import type { sessionsAnswer } from './schemas.ts'
import { clientIpOf, decodeCursor, encodeCursor, pathId } from './wire.ts'

/** The caller's own sessions and password. */
export function sessionHandlers(deps: AuthDeps) {
  return {
    listSessions: async (req, res) => {
      const query = parseInput(api.listSessions.query, req.query)
      const claims = claimsOf(res)
      const page = await listOwnSessions(deps, { userId: claims.sub, sessionId: claims.sid }, { limit: query.limit, cursor: decodeCursor(query.cursor) })
      res.json({
        items: page.items.map((session) => ({
          id: session.id,
          created_at: session.createdAt.toISOString(),
          last_used_at: session.lastUsedAt.toISOString(),
          user_agent: session.userAgent,
          ip_hint: session.ipHint,
          current: session.current,
        })),
        next_cursor: encodeCursor(page.nextCursor),
      } satisfies z.input<typeof sessionsAnswer>)
    },

    revokeSession: async (req, res) => {
      await revokeOwnSession(deps, { userId: claimsOf(res).sub }, pathId(req, 'session_not_found'))
      res.status(204).end()
    },

    changePassword: async (req, res) => {
      const input = parseInput(api.changePassword.body, req.body ?? {})
      const claims = claimsOf(res)
      await changePassword(deps, {
        userId: claims.sub,
        sessionId: claims.sid,
        currentPassword: input.current_password,
        newPassword: input.new_password,
        ip: clientIpOf(req),
      })
      res.status(204).end()
    },
  } satisfies Partial<Record<OperationId, RequestHandler>>
}
