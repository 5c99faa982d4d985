export { startPayments, type RunningPayments } from './start.ts'
