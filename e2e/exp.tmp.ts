import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { startStack, registerAndLogin } from './src/stack.ts'
import { startEchoServer, RELAXED_RATE_LIMITS } from './src/http-fixtures.ts'
const echo = await startEchoServer()
const s = await startStack({ LICENSE_URL: echo.url, RATE_LIMITS: RELAXED_RATE_LIMITS })
const u = await registerAndLogin(s.client)
const ca = readFileSync(s.platform.gateway.caPath!)
const url = new URL(s.url)
function raw(method: string, path: string, headers: Record<string,string>, body?: string) {
  return new Promise<{status:number, text:string}>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, ca, headers, agent: false }, (res) => {
      let t = ''; res.on('data', (c) => t += c); res.on('end', () => resolve({ status: res.statusCode!, text: t }))
    })
    req.on('error', reject)
    req.setTimeout(5000, () => req.destroy(new Error('client timeout')))
    if (body !== undefined) req.on('continue', () => req.end(body)); else req.end()
  })
}
console.log('expect GET', await raw('GET', '/licenses/x', { expect: '100-continue', 'x-forwarded-for': '6.6.6.6', authorization: `Bearer ${u.accessToken}`, 'x-request-id': 'abc' }).catch(e => String(e)))
console.log('expect POST login', await raw('POST', '/auth/login', { expect: '100-continue', 'content-type': 'application/json', 'x-forwarded-for': '6.6.6.6' }, JSON.stringify({ email: u.email, password: 'correct horse battery staple' })).catch(e => String(e)))
await s.stop(); await echo.close()
