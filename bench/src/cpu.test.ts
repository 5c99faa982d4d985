import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { describe, it } from 'node:test'
import { cpuPerOperation, cpuSnapshot, type CpuSnapshot } from './cpu.ts'

describe('cpuPerOperation', () => {
  it('divides each part’s CPU between two snapshots by the operations, counting a process that started in between in full', () => {
    const before: CpuSnapshot = new Map([
      [10, { part: 'gateway', ms: 100 }],
      [20, { part: 'PostgreSQL', ms: 50 }],
      [21, { part: 'PostgreSQL', ms: 70 }],
    ])
    const after: CpuSnapshot = new Map([
      [10, { part: 'gateway', ms: 300 }],
      [20, { part: 'PostgreSQL', ms: 90 }],
      [22, { part: 'PostgreSQL', ms: 20 }], // a backend that came after `before`; 21 ended meanwhile
    ])

    assert.deepEqual(cpuPerOperation(before, after, 100), { gateway: 2, PostgreSQL: 0.6 })
  })

  it('reports nothing without snapshots (not Linux) or without operations', () => {
    const snapshot: CpuSnapshot = new Map([[1, { part: 'gateway', ms: 1 }]])
    assert.equal(cpuPerOperation(undefined, snapshot, 10), undefined)
    assert.equal(cpuPerOperation(snapshot, snapshot, 0), undefined)
  })
})

describe('cpuSnapshot', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  it('counts a busy child under its name and this process as the load generator', async (t) => {
    const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 5000; while (Date.now() < end);'])
    t.after(() => child.kill())
    await once(child, 'spawn')
    const before = cpuSnapshot({ busy: child.pid })
    await new Promise((resolve) => setTimeout(resolve, 400))
    const after = cpuSnapshot({ busy: child.pid })

    const spent = cpuPerOperation(before, after, 1)
    assert.ok(spent, 'a snapshot on Linux')
    assert.ok((spent.busy ?? 0) > 0, 'the busy child spent CPU')
    assert.equal(after!.get(process.pid)?.part, 'load generator')
    assert.equal(after!.get(child.pid!)?.part, 'busy')
  })
})
