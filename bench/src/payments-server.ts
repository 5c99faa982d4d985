import { startPayments } from '@platform/payments/start'

// The payments service alone for the payments figures (bench/src/payments.ts), in its own process
// so the load generator never shares its thread. Prints the port for the parent.
const payments = await startPayments({ env: process.env })
process.stdout.write(`listening ${payments.port}\n`)
process.on('SIGTERM', () => {
  payments.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
