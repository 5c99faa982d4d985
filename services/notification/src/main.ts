import { loadConfigOrExit, onShutdown } from '@platform/platform'
import { loadNotificationConfig } from './config.ts'
import { startNotification } from './start.ts'

// One service per process, as a container runs it: `npm start -w @platform/notification`.
loadConfigOrExit('notification', () => loadNotificationConfig(process.env))
const notification = await startNotification({ env: process.env })
onShutdown(() => notification.stop(), notification.deps.log)
