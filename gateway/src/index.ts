export { startGateway, type RunningGateway } from './start.ts'
