import { loadConfigOrExit, onShutdown } from '@platform/platform'
import { loadGatewayConfig } from './config.ts'
import { startGateway } from './start.ts'

// The gateway alone, as a container runs it: `npm start -w @platform/gateway`.
loadConfigOrExit('gateway', () => loadGatewayConfig(process.env))
const gateway = await startGateway({ env: process.env })
onShutdown(() => gateway.stop(), gateway.log)
