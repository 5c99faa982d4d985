import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { waitUntil } from './infra.ts'

/** A redis-server this test owns: it may stop, flush or restart it without touching the shared one. */
export type PrivateRedis = { url: string; port: number; stop(): Promise<void>; start(): Promise<void>; flushAll(): Promise<void>; close(): Promise<void> }

/** True when a `redis-server` binary is on PATH. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

function cli(port: number, ...args: string[]): boolean {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout?.trim() === 'OK' || false
}

/**
 * Starts a private redis-server on a free port (no persistence, like the dev Redis), for tests
 * that stop it or flush it; `stop`/`start` restart it on the same port.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const ping = () => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG'
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    await waitUntil(ping, { what: `private redis on ${port}` })
  }
  const stop = async () => {
    if (!child || child.exitCode !== null) return
    const exited = new Promise((resolve) => child!.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async flushAll() {
      if (!cli(port, 'FLUSHALL')) throw new Error('FLUSHALL failed')
    },
    close: stop,
  }
}
