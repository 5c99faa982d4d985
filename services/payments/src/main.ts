import { ConfigError, loadConfigOrExit, onShutdown } from '@platform/platform'
import { loadPaymentsConfig } from './config.ts'
import { startPayments } from './start.ts'

// One service per process, as a container runs it: `npm start -w @platform/payments`.
loadConfigOrExit('payments', () => loadPaymentsConfig(process.env))
let payments
try {
  payments = await startPayments({ env: process.env })
} catch (error) {
  // The plan list and the *_FILE secrets are read at start: a bad one is a configuration error too.
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`payments: invalid configuration: ${error.message}\n`)
  process.exit(1)
}
const running = payments
onShutdown(() => running.stop(), running.deps.log)
