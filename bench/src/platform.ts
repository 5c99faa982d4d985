import { randomBytes } from 'node:crypto'
import { deleteNamesInUse, openBus } from '@platform/bus'
import { startPlatform } from '@platform/launcher/platform'
import { createTestClient } from '@platform/testkit'

// The services the benchmark drives: what `npm start` runs, plus one admin (made by writing the
// role to auth's database, as the end-to-end tests do). Prints the URLs of auth and license, for
// the gateway process the load goes through, and the admin's credentials. The bus is opened
// here so that, stopped, it deletes the run's prefixed queues and exchanges from the broker.
const { bus } = openBus({ url: process.env.AMQP_URL, prefix: process.env.AMQP_PREFIX, connectionName: 'bench' })
const platform = await startPlatform(process.env, { bus })
const client = createTestClient(platform.gateway.url, { caPath: platform.gateway.caPath })
const email = `bench-admin-${randomBytes(5).toString('hex')}@example.com`
const password = 'bench password 12345'
const registered = await client.request('POST', '/auth/register', { json: { email, password } })
if (registered.status !== 201) throw new Error(`register failed: ${registered.text}`)
await platform.auth.deps.db.updateTable('users').set({ roles: ['admin'] }).where('id', '=', registered.body.id as string).execute()
await client.close()
process.stdout.write(`services auth ${platform.auth.url} license ${platform.license.url} admin ${email} ${password.replaceAll(' ', '+')}\n`)

async function stop(): Promise<void> {
  await platform.stop()
  const names = bus.namesInUse?.()
  if (process.env.AMQP_URL && names) await deleteNamesInUse(process.env.AMQP_URL, names)
}

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  stop().then(
    () => process.exit(0),
    () => process.exit(1),
  )
})
