import { loadConfigOrExit, onShutdown } from '@platform/platform'
import { loadAuditConfig } from './config.ts'
import { startAudit } from './start.ts'

// One service per process, as a container runs it: `npm start -w @platform/audit`.
loadConfigOrExit('audit', () => loadAuditConfig(process.env))
const audit = await startAudit({ env: process.env })
onShutdown(() => audit.stop(), audit.log)
