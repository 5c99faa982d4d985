export { startAuth, type RunningAuth } from './start.ts'
