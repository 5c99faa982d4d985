import { loadConfigOrExit, onShutdown } from '@platform/platform'
import { loadAuthConfig } from './config.ts'
import { startAuth } from './start.ts'

// One service per process, as a container runs it: `npm start -w @platform/auth`.
loadConfigOrExit('auth', () => loadAuthConfig(process.env))
const auth = await startAuth({ env: process.env })
onShutdown(() => auth.stop(), auth.deps.log)
