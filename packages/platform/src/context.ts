import { AsyncLocalStorage } from 'node:async_hooks'

/** What travels with one request through every await: its id, for logs, events and answers. */
export type RequestContext = { requestId: string }

const storage = new AsyncLocalStorage<RequestContext>()

/** Runs `fn` with `context` visible to `currentRequestId()` in everything it awaits. */
export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn)
}

/** The id of the request being served, or undefined outside a request. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

/** An incoming `X-Request-Id` is kept only if it is 1..128 characters of `[A-Za-z0-9._-]` (CONTRACT §2). */
export function acceptableRequestId(value: unknown): value is string {
  return typeof value === 'string' && REQUEST_ID.test(value)
}
