// CPU time per operation of every process a figure goes through: the servers the bench started,
// the bench itself (the load generator) and the PostgreSQL, Redis and RabbitMQ servers of the
// machine. Read from /proc, so only on Linux; elsewhere nothing is reported. This is what shows
// where a figure's time goes when a ratio alone cannot (which process pays, and how much).
import { readdirSync, readFileSync } from 'node:fs'

/** Linux reports process times in USER_HZ ticks, 100 per second on every common architecture. */
const MS_PER_TICK = 10
/** Server processes of the machine, by the name the kernel gives them. */
const SERVERS: Record<string, string> = { postgres: 'PostgreSQL', 'redis-server': 'Redis', 'beam.smp': 'RabbitMQ' }
const LOAD_GENERATOR = 'load generator'

/** CPU milliseconds so far, by process id, with the part each counts towards. */
export type CpuSnapshot = Map<number, { part: string; ms: number }>

function processTimes(pid: number): { name: string; ms: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The name is in parentheses and may hold spaces; the fields after it are space-separated.
    const open = stat.indexOf('(')
    const close = stat.lastIndexOf(')')
    const fields = stat.slice(close + 2).split(' ')
    return { name: stat.slice(open + 1, close), ms: (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK }
  } catch {
    return undefined // gone in the meantime
  }
}

/** CPU time of the named child processes, of this process and of the machine's servers; undefined off Linux. */
export function cpuSnapshot(children: Record<string, number | undefined>): CpuSnapshot | undefined {
  if (process.platform !== 'linux') return undefined
  const snapshot: CpuSnapshot = new Map()
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry)
    if (!Number.isInteger(pid)) continue
    const times = processTimes(pid)
    const part = times && SERVERS[times.name]
    if (part) snapshot.set(pid, { part, ms: times.ms })
  }
  for (const [part, pid] of Object.entries(children)) {
    if (pid === undefined) continue
    const times = processTimes(pid)
    if (times) snapshot.set(pid, { part, ms: times.ms })
  }
  const self = process.cpuUsage()
  snapshot.set(process.pid, { part: LOAD_GENERATOR, ms: (self.user + self.system) / 1000 })
  return snapshot
}

/**
 * CPU milliseconds per operation of each part between two snapshots; a server process that
 * started in between counts with all its time, one that ended in between is not counted.
 */
export function cpuPerOperation(before: CpuSnapshot | undefined, after: CpuSnapshot | undefined, operations: number): Record<string, number> | undefined {
  if (!before || !after || operations <= 0) return undefined
  const spent: Record<string, number> = {}
  for (const [pid, { part, ms }] of after) spent[part] = (spent[part] ?? 0) + ms - (before.get(pid)?.ms ?? 0)
  return Object.fromEntries(Object.entries(spent).map(([part, ms]) => [part, ms / operations]))
}
