export { startNotification, type RunningNotification } from './start.ts'
