import { createAmqpBus, namespacedBus } from '@platform/bus'
import { createOutboxRelay, outboxMigration, type OutboxTables } from '@platform/bus/outbox'
import { openDatabase } from '@platform/db'

// The producer's outbox relay of the audit figures (bench/src/audit.ts) in a process of its own,
// as deployed: auth's relay runs in auth, not beside the audit consumer. Driven over IPC by the
// parent: 'start', 'notify' (a producer's commit), 'stop' (answered 'stopped'), 'close'.
const database = await openDatabase<OutboxTables>({ service: 'producer', url: process.env.PRODUCER_DATABASE_URL, migrations: { '0001-outbox': outboxMigration } })
const raw = createAmqpBus({ url: process.env.AMQP_URL!, connectionName: 'bench-relay' })
const relay = createOutboxRelay({ db: database.db, bus: namespacedBus(raw, process.env.BENCH_PREFIX!) })

process.on('message', (command) => {
  if (command === 'start') relay.start()
  else if (command === 'notify') relay.notify()
  else if (command === 'stop') void relay.stop().then(() => process.send!('stopped'))
  else if (command === 'close') void relay.stop().then(() => Promise.all([raw.close(), database.close()])).then(() => process.exit(0))
})
process.send!('ready')
