import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const OUTPUT_TAIL_CHARS = 8000

/**
 * With BENCH_CPU_PROF_DIR set, every server process writes V8 CPU profiles (one per thread) when
 * it exits, in a folder named after its entry point; open them in Chrome DevTools or speedscope.
 */
function profileArgs(entry: string): string[] {
  const dir = process.env.BENCH_CPU_PROF_DIR
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, entry.replace(/\.ts$/, '').replaceAll('/', '_'))}`] : []
}

/** Runs a TypeScript entry point in its own process, so load and server never share a thread. */
export async function startProcess(
  entry: string,
  env: NodeJS.ProcessEnv,
  ready: RegExp = /listening (\d+)/,
): Promise<{ child: ChildProcess; match: RegExpMatchArray; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...profileArgs(entry), '--import', 'tsx', entry], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  // Only the tail is kept (for the error when the process dies): a server logging through a
  // whole run would otherwise grow this string, and the load generator's heap, without bound.
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS)
  }
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      keep(chunk)
      const found = ready.exec(output)
      if (found) resolve(found)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', keep)
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}:\n${output.slice(-2000)}`)))
  })
  return {
    child,
    match,
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}

/**
 * Runs a TypeScript entry point in its own process with an IPC channel, once it has sent
 * 'ready'; `request` sends a command and waits for the child's answer.
 */
export async function startIpcProcess(
  entry: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; send(command: string): void; request(command: string, answer: string): Promise<void> }> {
  const child = spawn(process.execPath, [...profileArgs(entry), '--import', 'tsx', entry], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const answered = (answer: string) =>
    new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (message !== answer) return
        child.off('exit', onExit)
        child.off('message', onMessage)
        resolve()
      }
      const onExit = (code: number | null) => reject(new Error(`${entry} exited with ${code} before answering ${answer}`))
      child.on('message', onMessage)
      child.once('exit', onExit)
    })
  await answered('ready')
  return {
    child,
    send: (command) => child.send(command),
    async request(command, answer) {
      const done = answered(answer)
      child.send(command)
      await done
    },
  }
}
