export {
  BusUnavailableError,
  DEFAULT_EXCHANGE,
  MAX_ATTEMPTS_DEFAULT,
  RETRY_DELAY_BASE_MS,
  RETRY_DELAY_MAX_MS,
  retryDelayMs,
  type Bus,
  type BusLogger,
  type DeadLetter,
  type DeliveryMeta,
  type EventHandler,
  type InspectableBus,
  type SubscribeOptions,
  type Subscription,
} from './bus.ts'
export {
  createEnvelope,
  decodeEnvelope,
  eventEnvelopeSchema,
  InvalidEnvelopeError,
  parseEnvelope,
  type EnvelopeInput,
  type EventEnvelope,
  type EventOutcome,
} from './envelope.ts'
export { createAmqpBus, type AmqpBusOptions } from './amqp-bus.ts'
export { createMemoryBus, topicMatches, type MemoryBusOptions } from './memory-bus.ts'
export { deleteNamesInUse, namespacedBus, openBus } from './open-bus.ts'
export { instrumentBus } from './bus-metrics.ts'
