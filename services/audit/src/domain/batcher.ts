/** Options of {@link createBatcher}. */
export type BatcherOptions<T, R> = {
  /** Writes a batch; resolves with one result per item, in order. */
  flush(items: T[]): Promise<R[]>
  /** Largest batch; a full batch is flushed at once. */
  maxSize: number
  /** How long the first item of a batch may wait for company before it is flushed anyway. */
  lingerMs: number
  /** Told when a batch failed and its items are retried one by one. */
  onBatchError?: (error: unknown, size: number) => void
}

/** Per-item promises over batched work. */
export type Batcher<T, R> = {
  /** Queues `item`; resolves with its result once the batch holding it is written. */
  add(item: T): Promise<R>
  /** Items queued or being written. */
  pending(): number
  /** Resolves once everything queued so far has been written (or failed). */
  drain(): Promise<void>
}

type Entry<T, R> = { item: T; resolve: (result: R) => void; reject: (error: unknown) => void }

/**
 * Turns many concurrent single-item calls into few batched writes, one at a time: the consumer
 * hands each delivery to `add` (the bus runs up to `prefetch` handlers at once), and each handler
 * resolves — and its message is acked — only when the transaction holding its item committed.
 * While a batch is being written the next one fills up, so with prefetch ≥ 2 × `maxSize` the
 * database always has a full batch waiting. If a batch fails, its items are written again one
 * by one, so one item that cannot be stored fails alone (the bus retries and finally
 * dead-letters it) and does not take its neighbours with it.
 */
export function createBatcher<T, R>(opts: BatcherOptions<T, R>): Batcher<T, R> {
  let queue: Entry<T, R>[] = []
  let writing: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined
  let inFlight = 0

  function schedule(): void {
    if (writing) return
    if (queue.length >= opts.maxSize) {
      start()
      return
    }
    if (queue.length > 0 && !timer) timer = setTimeout(start, opts.lingerMs)
  }

  function start(): void {
    if (timer) clearTimeout(timer)
    timer = undefined
    if (writing || queue.length === 0) return
    const batch = queue.slice(0, opts.maxSize)
    queue = queue.slice(batch.length)
    inFlight = batch.length
    writing = write(batch).finally(() => {
      writing = undefined
      inFlight = 0
      // Items that arrived meanwhile have waited long enough: go at once.
      if (queue.length > 0) start()
    })
  }

  async function write(batch: Entry<T, R>[]): Promise<void> {
    try {
      const results = await opts.flush(batch.map((e) => e.item))
      batch.forEach((entry, i) => entry.resolve(results[i]!))
      return
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error)
        return
      }
      opts.onBatchError?.(error, batch.length)
    }
    for (const entry of batch) {
      try {
        const [result] = await opts.flush([entry.item])
        entry.resolve(result!)
      } catch (error) {
        entry.reject(error)
      }
    }
  }

  return {
    add(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject })
        schedule()
      })
    },
    pending: () => queue.length + inFlight,
    async drain() {
      while (writing || queue.length > 0) {
        if (!writing) start()
        await writing
      }
    },
  }
}
