import type { Executor } from '@platform/db'
import type { Machine } from '../domain/license.ts'
import type { LicenseDatabase, MachineRow } from './schema.ts'

type Db = Executor<LicenseDatabase>

export function machineRowToMachine(row: MachineRow): Machine {
  return {
    id: row.id,
    licenseId: row.license_id,
    fingerprintHash: row.fingerprint_hash,
    machineName: row.machine_name,
    platform: row.platform,
    createdAt: new Date(row.created_at),
    lastSeenAt: new Date(row.last_seen_at),
  }
}

/** The machines of a license in activation order (oldest first): `validationCode` relies on it. */
export async function listMachines(db: Db, licenseId: string): Promise<Machine[]> {
  const rows = await db
    .selectFrom('machines')
    .selectAll()
    .where('license_id', '=', licenseId)
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  return rows.map(machineRowToMachine)
}

export async function insertMachine(db: Db, machine: Machine): Promise<Machine> {
  const row = await db
    .insertInto('machines')
    .values({
      id: machine.id,
      license_id: machine.licenseId,
      fingerprint_hash: machine.fingerprintHash,
      machine_name: machine.machineName,
      platform: machine.platform,
      created_at: machine.createdAt,
      last_seen_at: machine.lastSeenAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  return machineRowToMachine(row)
}

/** Records a heartbeat; a re-activation may also rename the machine. */
export async function touchMachine(db: Db, id: string, now: Date, rename: { machineName?: string | undefined; platform?: string | undefined } = {}): Promise<Machine | undefined> {
  const row = await db
    .updateTable('machines')
    .set({
      last_seen_at: now,
      ...(rename.machineName !== undefined ? { machine_name: rename.machineName } : {}),
      ...(rename.platform !== undefined ? { platform: rename.platform } : {}),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst()
  return row && machineRowToMachine(row)
}

/** Frees a slot; returns the machine that was removed, if it belonged to the license. */
export async function deleteMachine(db: Db, licenseId: string, activationId: string): Promise<Machine | undefined> {
  const row = await db
    .deleteFrom('machines')
    .where('license_id', '=', licenseId)
    .where('id', '=', activationId)
    .returningAll()
    .executeTakeFirst()
  return row && machineRowToMachine(row)
}

/**
 * Notes that `fingerprintHash` was tried against the license now, prunes tries older than
 * `since`, and returns how many distinct fingerprints were tried since then. Runs under the
 * license's row lock, so concurrent tries are all counted.
 */
export async function recordActivationAttempt(db: Db, licenseId: string, fingerprintHash: string, now: Date, since: Date): Promise<number> {
  await db.deleteFrom('activation_attempts').where('license_id', '=', licenseId).where('attempted_at', '<', since).execute()
  await db
    .insertInto('activation_attempts')
    .values({ license_id: licenseId, fingerprint_hash: fingerprintHash, attempted_at: now })
    .onConflict((oc) => oc.columns(['license_id', 'fingerprint_hash']).doUpdateSet({ attempted_at: now }))
    .execute()
  const row = await db
    .selectFrom('activation_attempts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('license_id', '=', licenseId)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export async function clearActivationAttempts(db: Db, licenseId: string): Promise<void> {
  await db.deleteFrom('activation_attempts').where('license_id', '=', licenseId).execute()
}
