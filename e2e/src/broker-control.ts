import { execFile, spawnSync } from 'node:child_process'
import { waitUntil } from '@platform/testkit'

// The command names, found on PATH; RABBITMQCTL / RABBITMQ_DIAGNOSTICS name others.
const CTL = process.env.RABBITMQCTL ?? 'rabbitmqctl'
const DIAGNOSTICS = process.env.RABBITMQ_DIAGNOSTICS ?? 'rabbitmq-diagnostics'
const COMMAND_TIMEOUT_MS = 60_000
const BACK_WITHIN_MS = 90_000
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])

type Outcome = { ok: boolean; output: string }

function run(command: string, args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: COMMAND_TIMEOUT_MS }, (error, stdout, stderr) =>
      resolve({ ok: !error, output: `${stdout}${stderr}`.trim() || (error?.message ?? '') }),
    )
  })
}

/**
 * Why the RabbitMQ at `amqpUrl` cannot be stopped and started from here, or undefined when it
 * can: it must be this machine's node, and `rabbitmq-diagnostics -q ping` must reach it.
 */
export async function whyBrokerIsNotControllable(amqpUrl: string): Promise<string | undefined> {
  const host = new URL(amqpUrl).hostname
  if (!LOOPBACK.has(host)) return `AMQP_URL points at ${host}, not at a broker on this machine`
  const ping = await run(DIAGNOSTICS, ['-q', 'ping'])
  return ping.ok ? undefined : `${DIAGNOSTICS} -q ping failed: ${ping.output.slice(0, 300)}`
}

/** Whether {@link stopBroker} ran and {@link startBroker} has not brought it back yet. */
let stopped = false

/** `rabbitmqctl stop_app`: the node stays up, the broker closes every connection and stops. */
export async function stopBroker(): Promise<void> {
  stopped = true
  const result = await run(CTL, ['stop_app'])
  if (!result.ok) throw new Error(`${CTL} stop_app failed: ${result.output}`)
}

/**
 * `rabbitmqctl start_app`, then waits until `rabbitmq-diagnostics -q ping` answers. Safe to call
 * when the broker runs (start_app is then a no-op): after hooks call it whatever happened.
 */
export async function startBroker(): Promise<void> {
  const result = await run(CTL, ['start_app'])
  if (!result.ok) throw new Error(`${CTL} start_app failed: ${result.output}`)
  await waitUntil(async () => (await run(DIAGNOSTICS, ['-q', 'ping'])).ok, { timeoutMs: BACK_WITHIN_MS, intervalMs: 500, what: 'RabbitMQ to answer ping again' })
  stopped = false
}

// A test process stopped by a signal (Ctrl-C, a runner's timeout) never reaches its after hooks:
// whatever else happens, the shared broker must not stay down.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopped) spawnSync(CTL, ['start_app'], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS })
    process.kill(process.pid, signal)
  })
}
