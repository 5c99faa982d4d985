import { AsyncLocalStorage } from 'node:async_hooks'
import type { RequestHandler } from 'express'
import { claimsOf } from '@platform/tokens/express'

/** Who and where the request being served came from, for the events it causes. */
export type RequestOrigin = { ip: string | undefined; userAgent: string | undefined; actorId(): string | undefined }

const storage = new AsyncLocalStorage<RequestOrigin>()

/** The origin of the request being served, or undefined outside a request (CLI, timers). */
export function currentOrigin(): RequestOrigin | undefined {
  return storage.getStore()
}

/**
 * Records the client address, user agent and (once the bearer guard ran) the caller for the
 * events written while serving the request, so the domain need not thread them through.
 */
export function captureOrigin(): RequestHandler {
  return (req, res, next) => {
    const origin: RequestOrigin = {
      ip: req.ip ?? req.socket.remoteAddress,
      userAgent: req.header('user-agent')?.slice(0, 256),
      actorId: () => (res.locals.claims ? claimsOf(res).sub : undefined),
    }
    storage.run(origin, next)
  }
}
