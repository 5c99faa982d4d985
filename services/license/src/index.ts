export { startLicense, type RunningLicense } from './start.ts'
/** For the billing consumer to come, and for tests: suspend or resume a license outside any request. */
export { setSuspended } from './domain/manage-license.ts'
