import type { Server } from 'node:http'

/**
 * Stops accepting connections and resolves once in-flight requests have finished; connections
 * still open after `graceMs` are cut so a stuck client cannot hold the process up.
 */
export async function closeServer(server: Server, graceMs = 10_000): Promise<void> {
  if (!server.listening) return
  const done = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  const timer = setTimeout(() => server.closeAllConnections(), graceMs)
  timer.unref()
  await done
  clearTimeout(timer)
}

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits; a second signal exits at once. The process
 * manager (Kubernetes, Ctrl-C) gets a clean drain, never a half-written transaction.
 */
export function onShutdown(stop: () => Promise<void>, log?: { info(msg: string): void; error(obj: object, msg: string): void }): void {
  let stopping = false
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1)
    stopping = true
    log?.info(`${signal} received, shutting down`)
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log?.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.once('SIGTERM', handle)
  process.once('SIGINT', handle)
}
