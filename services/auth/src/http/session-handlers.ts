import type { RequestHandler } from 'express'
import { parseInput } from '@platform/platform'
import type { z } from 'zod'
import { changePassword } from '../domain/change-password.ts'
import type { AuthDeps } from '../domain/deps.ts'
import { requestPasswordReset, resetPassword } from '../domain/password-reset.ts'
import { listOwnSessions, revokeOwnSession } from '../domain/sessions.ts'
import { api, type OperationId } from './api.ts'
import { claimsOf } from './bearer.ts'
import type { forgotAnswer, sessionsAnswer } from './schemas.ts'
import { clientIpOf, decodeCursor, encodeCursor, pathId } from './wire.ts'

/** The same words for every address (CONTRACT §4: the answer does not reveal an account). */
const FORGOT_ANSWER = { message: 'If an account exists for this address, a password reset link is on its way.' } satisfies z.input<typeof forgotAnswer>

/** The caller's own sessions and password; the password reset by e-mail link. */
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

    forgotPassword: async (req, res) => {
      const { email } = parseInput(api.forgotPassword.body, req.body ?? {})
      // Answered before the look-up: the time, the status and any failure on the way are the same
      // whether or not the account exists. The work goes on in this request's context (request
      // id, ip_hash of its events); an error is logged without the address.
      res.status(202).json(FORGOT_ANSWER)
      await requestPasswordReset(deps, email).catch((error: unknown) => deps.log.error({ err: error }, 'password reset request not processed'))
    },

    resetPassword: async (req, res) => {
      const input = parseInput(api.resetPassword.body, req.body ?? {})
      await resetPassword(deps, { token: input.token, newPassword: input.new_password })
      res.status(204).end()
    },
  } satisfies Partial<Record<OperationId, RequestHandler>>
}
