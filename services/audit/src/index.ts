export { startAudit, type RunningAudit } from './start.ts'
