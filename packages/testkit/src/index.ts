export { infraUrl, waitUntil } from './infra.ts'
export { createTestClient, type JsonResponse, type TestClient } from './https-client.ts'
export { hasRedisServer, startPrivateRedis, type PrivateRedis } from './private-redis.ts'
export { startTcpProxy, type TcpProxy } from './tcp-proxy.ts'
