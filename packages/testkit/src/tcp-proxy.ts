import { createConnection, createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

export type TcpProxy = {
  /** The port on 127.0.0.1 that forwards to the target. */
  port: number
  /** The target is unreachable from now on: open connections are dropped, new ones closed at once. */
  cut(): void
  /** Connections go through again. */
  restore(): void
  /**
   * Cuts once, the moment a connection has sent bytes that `matches` says complete a request:
   * they reach the server, its answer never comes back (a commit that happened, unheard).
   */
  cutAfterSending(matches: (sentSoFar: string) => boolean): void
  /** How many chunks clients have sent so far: every round trip a client waits on takes at least one. */
  sentChunks(): number
  close(): Promise<void>
}

/**
 * A TCP forwarder to `target` that a test can cut and restore, to take a server away from one
 * client (a service's database pool, say) without stopping a server other tests share.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>()
  let cutOff = false
  let trigger: ((sentSoFar: string) => boolean) | undefined
  let chunks = 0
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
    let sent = ''
    client.on('data', (chunk: Buffer) => {
      chunks++
      if (trigger) sent = (sent + chunk.toString('latin1')).slice(-64_000)
      if (!trigger?.(sent)) {
        upstream.write(chunk)
        return
      }
      trigger = undefined
      // Cut once the bytes are handed to the server, before its answer can be read back.
      upstream.write(chunk, () => proxy.cut())
    })
    client.on('end', () => upstream.end())
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const proxy: TcpProxy = {
    port: (server.address() as AddressInfo).port,
    cut() {
      cutOff = true
      for (const socket of open) socket.destroy()
    },
    restore() {
      cutOff = false
    },
    cutAfterSending(matches) {
      trigger = matches
    },
    sentChunks: () => chunks,
    async close() {
      for (const socket of open) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  return proxy
}
