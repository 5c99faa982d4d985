import { Agent } from 'node:http'
import { createServer } from 'node:https'
import { readFileSync } from 'node:fs'
import express from 'express'
import { createProxyMiddleware } from 'http-proxy-middleware'

// The baseline of the gateway benchmark: plain express + http-proxy-middleware with a keep-alive
// agent, over the same TLS certificate, doing nothing else.
const app = express()
app.use(createProxyMiddleware({ target: process.env.UPSTREAM_URL, agent: new Agent({ keepAlive: true, maxSockets: 256 }) }))
const server = createServer({ cert: readFileSync(process.env.CERT!), key: readFileSync(process.env.KEY!) }, app)
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`)
})
