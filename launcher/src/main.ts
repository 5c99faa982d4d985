import { ConfigError } from '@platform/platform'
import { banner, startPlatform } from './platform.ts'

// `npm start`: the whole platform in one process on embedded defaults (CONTRACT §1).
let platform
try {
  platform = await startPlatform(process.env)
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`invalid configuration: ${error.message}\n`)
    process.exit(1)
  }
  throw error
}
process.stdout.write(banner(platform, process.env))

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1)
    stopping = true
    process.stdout.write('\nStopping...\n')
    platform.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`)
        process.exit(1)
      },
    )
  })
}
