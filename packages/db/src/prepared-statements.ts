/**
 * The statements one connection keeps prepared, by text: a name for each, at most `capacity`,
 * the least recently used given up first. Names are never reused on a connection, so a name
 * given up can be closed at leisure without racing a new statement of the same name.
 */
export class PreparedStatements {
  readonly #capacity: number
  // Insertion order is recency order: a statement used again is moved to the end.
  readonly #names = new Map<string, string>()
  #toClose: string[] = []
  #issued = 0

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  /** The name `text` is (or is about to be) prepared under on this connection. */
  nameOf(text: string): string {
    let name = this.#names.get(text)
    if (name !== undefined) {
      this.#names.delete(text)
    } else {
      name = `platform_${++this.#issued}`
      if (this.#names.size >= this.#capacity) {
        const [oldestText, oldestName] = this.#names.entries().next().value!
        this.#names.delete(oldestText)
        this.#toClose.push(oldestName)
      }
    }
    this.#names.set(text, name)
    return name
  }

  /** Gives up the statement of `text` (its plan went stale): the next use prepares it afresh. */
  forget(text: string): void {
    const name = this.#names.get(text)
    if (name === undefined) return
    this.#names.delete(text)
    this.#toClose.push(name)
  }

  /** The names given up since the last call, for the connection to close. */
  takeClosed(): string[] {
    const names = this.#toClose
    this.#toClose = []
    return names
  }

  get size(): number {
    return this.#names.size
  }
}
