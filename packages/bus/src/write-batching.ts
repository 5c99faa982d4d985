import type { Socket } from 'node:net'

/**
 * Makes the frames amqplib writes within one turn of the event loop leave in one `writev`.
 * amqplib's multiplexer hands each frame to `socket.write` on its own, so a relay batch of a
 * hundred publishes, or a consumer acking a batch, costs a system call (and a packet) per frame.
 * The socket is corked at the turn's first write and uncorked on the next tick: nothing waits
 * for a timer, and the bytes and their order are unchanged.
 *
 * `connection` is the `ChannelModel` amqplib's `connect` resolves to; its socket is internal
 * (`connection.connection.stream`), so anything unexpected there leaves the socket as it was.
 */
export function batchWritesPerTurn(connection: unknown): boolean {
  const socket = (connection as { connection?: { stream?: unknown } } | undefined)?.connection?.stream as Partial<Socket> | undefined
  if (!socket || typeof socket.write !== 'function' || typeof socket.cork !== 'function' || typeof socket.uncork !== 'function') return false
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean
  let corked = false
  const uncork = () => {
    corked = false
    socket.uncork!()
  }
  socket.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true
      socket.cork!()
      process.nextTick(uncork)
    }
    return write(...args)
  }) as Socket['write']
  return true
}
