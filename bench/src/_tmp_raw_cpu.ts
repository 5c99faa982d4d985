import { measureRawTxRate } from './raw-postgres.ts'
const c0 = process.cpuUsage(); const t0 = performance.now()
const rate = await measureRawTxRate({ databaseUrl: process.env.DATABASE_URL!, seconds: 5, concurrency: 8 })
const c = process.cpuUsage(c0); const wall = (performance.now() - t0) / 1000
console.log('raw', rate.toFixed(0), 'cpu ms/tx', ((c.user + c.system) / 1000 / (rate * 5)).toFixed(3), 'busy', ((c.user + c.system) / 1e6 / wall).toFixed(2))
