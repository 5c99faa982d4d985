/** A background job that can be stopped and waited for. */
export type RepeatingJob = { stop(): Promise<void> }

/**
 * Runs `step` again and again: each run returns how many ms to wait before the next one. Timers
 * are unref'd (a job never keeps the process alive), a failing step is logged and retried after
 * `retryMs`, and `stop` wakes the wait and resolves once the step in progress finished.
 */
export function repeat(step: () => Promise<number>, opts: { firstDelayMs?: number; retryMs: number; onError: (error: unknown) => void }): RepeatingJob {
  let running = true
  let timer: NodeJS.Timeout | undefined
  let wake: (() => void) | undefined
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve
      timer = setTimeout(resolve, Math.max(0, ms))
      timer.unref()
    })
  const loop = (async () => {
    let delayMs = opts.firstDelayMs ?? 0
    while (running) {
      if (delayMs > 0) await wait(delayMs)
      if (!running) return
      try {
        delayMs = await step()
      } catch (error) {
        opts.onError(error)
        delayMs = opts.retryMs
      }
    }
  })()
  return {
    async stop() {
      running = false
      clearTimeout(timer)
      wake?.()
      await loop
    },
  }
}
