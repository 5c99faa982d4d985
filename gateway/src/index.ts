export { startGateway, type RunningGateway } from './start.ts'
export { DEFAULT_POLICIES, type PolicyName } from './rate-limit/policies.ts'
