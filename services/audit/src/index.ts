export { startAudit, type RunningAudit } from './start.ts'
export type { AuditRecord } from './domain/record.ts'
