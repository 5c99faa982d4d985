import express, { type Express } from 'express'
import { problemFor } from '@platform/contracts'
import { uuidv7 } from '@platform/platform'

/**
 * The plain-HTTP listener (CONTRACT §1): GET and HEAD are redirected to HTTPS, any other method
 * is refused with 403 `https_required` so a credential sent in clear is never processed.
 */
export function createPlainApp(opts: { httpsPort: number; publicUrl: string }): Express {
  const app = express()
  app.disable('x-powered-by')
  const publicHost = new URL(opts.publicUrl).hostname
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  app.use((req, res) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      const port = opts.httpsPort === 443 ? '' : `:${opts.httpsPort}`
      res.redirect(301, `https://${publicHost}${port}${req.originalUrl}`)
      return
    }
    const body = problemFor('https_required', uuidv7(), 'Use HTTPS')
    res.status(403).type('application/problem+json').send(JSON.stringify(body))
  })
  return app
}
