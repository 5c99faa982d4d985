import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { waitUntil } from '@platform/testkit/infra'
import { createEnvelope, type EventEnvelope } from '../src/envelope.ts'
import { createMemoryBus } from '../src/memory-bus.ts'
import { namespacedBus } from '../src/open-bus.ts'

describe('namespacedBus', () => {
  it('when events and raw bodies go through a prefixed view, only the same prefix sees them, on the exchanges it names', async (t) => {
    const bus = createMemoryBus()
    t.after(() => bus.close())
    const mine = namespacedBus(bus, 'run-a.')
    const theirs = namespacedBus(bus, 'run-b.')
    const seen: { mine: EventEnvelope[]; theirs: EventEnvelope[] } = { mine: [], theirs: [] }
    await mine.subscribe('audit.events', ['#'], async (e) => void seen.mine.push(e))
    await theirs.subscribe('audit.events', ['#'], async (e) => void seen.theirs.push(e))
    await mine.subscribe('records.reader', ['#'], async () => {}, { exchange: 'audit.records' })
    const event = createEnvelope({ type: 'auth.login.failed', source: 'test', data: {} })

    await mine.publish(event)
    await mine.publishRaw('auth.login.failed', '{"seq":1}', { exchange: 'audit.records' })

    await waitUntil(() => seen.mine.length === 1)
    await waitUntil(async () => (await bus.deadLetters('run-a.records.reader')).length === 1)
    assert.deepEqual(seen.mine, [event])
    assert.deepEqual(seen.theirs, [])
    // A raw body is not an envelope: a `subscribe` consumer parks it, unchanged.
    assert.equal((await bus.deadLetters('run-a.records.reader'))[0]!.body, '{"seq":1}')
  })

  it('when the prefix is empty, the bus itself is returned', () => {
    const bus = createMemoryBus()

    assert.equal(namespacedBus(bus, ''), bus)
  })
})
