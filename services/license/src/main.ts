import { loadConfigOrExit, onShutdown } from '@platform/platform'
import { loadLicenseConfig } from './config.ts'
import { startLicense } from './start.ts'

// One service per process, as a container runs it: `npm start -w @platform/license`.
loadConfigOrExit('license', () => loadLicenseConfig(process.env))
const license = await startLicense({ env: process.env })
onShutdown(() => license.stop(), license.deps.log)
