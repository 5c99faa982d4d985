import { describeFailure, isUsageError, runAdminCli, USAGE } from './admin-cli.ts'

// `npm run admin -- create-user ...` / `set-roles ...` (see admin-cli.ts).
try {
  process.stdout.write(`${await runAdminCli(process.argv.slice(2), process.env, process.stdin)}\n`)
} catch (error) {
  const usage = isUsageError(error)
  process.stderr.write(`admin: ${usage ? `${(error as Error).message}\n${USAGE}` : describeFailure(error)}\n`)
  process.exitCode = usage ? 2 : 1
}
