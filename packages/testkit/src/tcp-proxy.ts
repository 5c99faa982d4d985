import { createConnection, createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

export type TcpProxy = {
  /** The port on 127.0.0.1 that forwards to the target. */
  port: number
  /** The target is unreachable from now on: open connections are dropped, new ones closed at once. */
  cut(): void
  /** Connections go through again. */
  restore(): void
  close(): Promise<void>
}

/**
 * A TCP forwarder to `target` that a test can cut and restore, to take a server away from one
 * client (a service's database pool, say) without stopping a server other tests share.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>()
  let cutOff = false
  const server = createServer((client) => {
    if (cutOff) {
      client.destroy()
      return
    }
    const upstream = createConnection(target)
    for (const socket of [client, upstream]) {
      open.add(socket)
      socket.on('close', () => open.delete(socket))
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      cutOff = true
      for (const socket of open) socket.destroy()
    },
    restore() {
      cutOff = false
    },
    async close() {
      for (const socket of open) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
