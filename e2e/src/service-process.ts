import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const READY_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 10_000
const OUTPUT_KEPT_CHARS = 4_000

/** A service running as its own process, as a container runs it. */
export type ServiceProcess = {
  /** The fields of the service's "ready" log line (`port`, and for the gateway `admin_port` ...). */
  ready: Record<string, unknown>
  child: ChildProcess
  /** The latest output, for failure messages. */
  output(): string
  /** SIGTERM, then SIGKILL if it has not exited within 10 s; resolves once it exited. */
  stop(): Promise<void>
}

/**
 * Starts `entry` (a service's `src/main.ts`, relative to the repository root) in a process of its
 * own with exactly `env`, and resolves once it logged `readyMessage` (pino JSON on stdout, so
 * `LOG_LEVEL` must let `info` through). Its output is drained all along, so a chatty service
 * never blocks on a full pipe.
 *
 * @example
 * const auth = await startServiceProcess('services/auth/src/main.ts', { ...env, AUTH_PORT: '0' }, 'auth ready')
 * const url = `http://127.0.0.1:${auth.ready.port}`
 */
export async function startServiceProcess(entry: string, env: NodeJS.ProcessEnv, readyMessage: string): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_KEPT_CHARS)
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let pending = ''
    const timer = setTimeout(() => reject(new Error(`${entry} not ready within ${READY_TIMEOUT_MS} ms:\n${output}`)), READY_TIMEOUT_MS)
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk)
      pending += chunk.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        const fields = parseLine(line)
        if (fields?.msg === readyMessage) {
          clearTimeout(timer)
          resolve(fields)
        }
      }
      if (pending.length > OUTPUT_KEPT_CHARS) pending = ''
    })
    child.stderr!.on('data', keep)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${entry} exited (${code ?? signal}) before it was ready:\n${output}`))
    })
  })
  return {
    ready,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    },
  }
}

function parseLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    return JSON.parse(line) as Record<string, unknown>
  } catch {
    return undefined
  }
}
