/** A background loop that polls for work: `start`, `stop` (after the tick in progress), `notify`. */
export type PollLoop = { start(): void; stop(): Promise<void>; notify(): void }

export type PollLoopOptions = {
  /** Does one unit of work; `more: true` means more is waiting, so run again at once. */
  tick: () => Promise<{ more: boolean }>
  /** Pause between ticks while idle. */
  idleMs: number
  /**
   * The back-off after consecutive failed ticks is this × 2^failures (never starting above
   * `idleMs`, its default): a loop that polls seldom because commits wake it can still retry soon
   * after its store came back.
   */
  backoffBaseMs?: number
  /** Upper bound of that back-off. */
  maxBackoffMs: number
  onError: (error: unknown, failures: number) => void
}

/**
 * The loop behind every relay and sender of the platform (outbox relay, audit records relay,
 * mail sender): poll every `idleMs`, go again at once while work is waiting, back off
 * exponentially while ticks fail, and wake at once on `notify()` — e.g. right after a commit
 * that wrote rows for it — so latency does not depend on the poll interval.
 */
export function createPollLoop(opts: PollLoopOptions): PollLoop {
  const backoffBaseMs = Math.min(opts.backoffBaseMs ?? opts.idleMs, opts.idleMs)
  let running = false
  let loop: Promise<void> | undefined
  let wake: (() => void) | undefined
  let notified = false

  function sleep(ms: number): Promise<void> {
    if (notified) {
      notified = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        wake = undefined
        clearTimeout(timer)
        resolve()
      }
      wake = done
    })
  }

  async function run(): Promise<void> {
    let failures = 0
    while (running) {
      notified = false
      let delayMs = opts.idleMs
      try {
        const { more } = await opts.tick()
        failures = 0
        if (more) delayMs = 0
      } catch (error) {
        failures++
        delayMs = Math.min(backoffBaseMs * 2 ** Math.min(failures, 10), opts.maxBackoffMs)
        opts.onError(error, failures)
      }
      if (running && delayMs > 0) await sleep(delayMs)
    }
  }

  return {
    start() {
      if (running) return
      running = true
      loop = run().finally(() => {
        loop = undefined
      })
    },
    async stop() {
      running = false
      wake?.()
      await loop
    },
    notify() {
      notified = true
      wake?.()
    },
  }
}
