import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net'

/** A TCP forwarder in front of one server, whose connections a test can cut at will. */
export type TcpProxy = {
  port: number
  /** Destroys every connection through the proxy and refuses new ones: a crash, as the server sees it. */
  cut(): Promise<void>
  close(): Promise<void>
}

/**
 * Forwards 127.0.0.1:<port> to `target`. Cutting it drops only the connections that went through
 * it, so a test can kill one client's broker connection without touching the shared broker or
 * anyone else's connection.
 */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = createConnection(target)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => {})
      socket.on('close', () => sockets.delete(socket))
    }
    client.pipe(upstream).pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  server.listen(0, '127.0.0.1')
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject))
  const closeServer = () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))
  return {
    port: (server.address() as AddressInfo).port,
    async cut() {
      const closing = closeServer()
      for (const socket of sockets) socket.destroy()
      await closing
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await closeServer()
    },
  }
}
