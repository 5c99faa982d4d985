import { randomBytes } from 'node:crypto'
import { startPlatform } from '@platform/launcher/platform'
import { createTestClient } from '@platform/testkit'

// The services the benchmark drives: what `npm start` runs, plus one admin (made by writing the
// role to auth's database, as the end-to-end tests do). Prints the URLs of auth and license, for
// the gateway process the load goes through, and the admin's credentials.
const platform = await startPlatform(process.env)
const client = createTestClient(platform.gateway.url, { caPath: platform.gateway.caPath })
const email = `bench-admin-${randomBytes(5).toString('hex')}@example.com`
const password = 'bench password 12345'
const registered = await client.request('POST', '/auth/register', { json: { email, password } })
if (registered.status !== 201) throw new Error(`register failed: ${registered.text}`)
await platform.auth.deps.db.updateTable('users').set({ roles: ['admin'] }).where('id', '=', registered.body.id as string).execute()
await client.close()
process.stdout.write(`services auth ${platform.auth.url} license ${platform.license.url} admin ${email} ${password.replaceAll(' ', '+')}\n`)

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  platform.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
