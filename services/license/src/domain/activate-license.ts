import type { ErrorCode } from '@platform/contracts'
import { AppError, uuidv7 } from '@platform/platform'
import type { EventOrigin } from '../events/publish.ts'
import { lockLicenseByKeyHash, updateLicense } from '../store/licenses.ts'
import { insertMachine, listMachines, recordActivationAttempt, touchMachine } from '../store/machines.ts'
import { nowOf, type LicenseDeps } from './deps.ts'
import { hashLicenseKey, normalizeLicenseKey } from './license-key.ts'
import { fingerprintHash } from './license-token.ts'
import { activationRefusal, isAbuse, type License, type Machine } from './license.ts'
import { issueTokenFor, type IssuedToken } from './token-issuer.ts'

export type ActivateInput = { key: string; fingerprint: string; machineName?: string | undefined; platform?: string | undefined }

export type Activation = { created: boolean; machine: Machine; license: License; token: IssuedToken }

type Outcome = { kind: 'activated'; created: boolean; machine: Machine; license: License } | { kind: 'refused'; code: ErrorCode; detail: string }

/**
 * Activates a machine on the license whose key is presented.
 *
 * The license row is locked for the whole transaction, so activations of one key run one after
 * the other and `max_machines` holds however many arrive at once. Every try is recorded first
 * (distinct fingerprint hashes per key within `LICENSE_ABUSE.window_s`); the try that goes past
 * the allowed number marks the key as suspected, raises `license.abuse_suspected` and is refused,
 * like every later one until an admin clears it. A fingerprint already activated gets its own
 * activation back (`created: false`) with a fresh token: reinstalls never cost a seat (PITFALLS).
 * Refusals that must leave a trace (the try, the suspicion) commit first and throw afterwards.
 * Every try is counted by outcome (`license_activations_total`): `activated`, `reactivated`, or
 * the refusal's code.
 */
export async function activateLicense(deps: LicenseDeps, input: ActivateInput, origin: EventOrigin = {}): Promise<Activation> {
  try {
    const activation = await activate(deps, input, origin)
    deps.counters?.activationFinished(activation.created ? 'activated' : 'reactivated')
    return activation
  } catch (error) {
    deps.counters?.activationFinished(error instanceof AppError ? error.code : 'error')
    throw error
  }
}

async function activate(deps: LicenseDeps, input: ActivateInput, origin: EventOrigin): Promise<Activation> {
  const normalized = normalizeLicenseKey(input.key)
  if (!normalized) throw new AppError('license_not_found', 'No license has this key')
  const keyHash = hashLicenseKey(normalized, deps.keySecret)
  const fpHash = fingerprintHash(input.fingerprint)
  const now = nowOf(deps)

  const outcome = await deps.inTransaction(async (trx): Promise<Outcome> => {
    const license = await lockLicenseByKeyHash(trx, keyHash)
    if (!license) throw new AppError('license_not_found', 'No license has this key')
    const refusal = activationRefusal(license, now)
    if (refusal) throw new AppError(refusal, refusalDetail(refusal))

    const since = new Date(now.getTime() - deps.abuse.windowSeconds * 1000)
    const distinct = await recordActivationAttempt(trx, license.id, fpHash, now, since)
    if (isAbuse(distinct, deps.abuse.fingerprints)) {
      await updateLicense(trx, license.id, { abuse_suspected_at: now }, now)
      await deps.events.write(trx, {
        type: 'license.abuse_suspected',
        subject: { type: 'license', id: license.id },
        outcome: 'denied',
        origin,
        data: { license_id: license.id, product: license.product, fingerprints: distinct, window_s: deps.abuse.windowSeconds, key_last4: license.keyLast4 },
      })
      deps.log.warn({ license_id: license.id, fingerprints: distinct }, 'license key tried from too many machines; activations suspended')
      return { kind: 'refused', code: 'license_suspended', detail: refusalDetail('license_suspended') }
    }

    const machines = await listMachines(trx, license.id)
    const existing = machines.find((m) => m.fingerprintHash === fpHash)
    if (existing) {
      const machine = (await touchMachine(trx, existing.id, now, { machineName: input.machineName, platform: input.platform })) ?? existing
      return { kind: 'activated', created: false, machine, license }
    }
    if (machines.length >= license.maxMachines) {
      return { kind: 'refused', code: 'machine_limit_reached', detail: `All ${license.maxMachines} machine slots of this license are in use; deactivate one first` }
    }
    const machine = await insertMachine(trx, {
      id: uuidv7(now.getTime()),
      licenseId: license.id,
      fingerprintHash: fpHash,
      machineName: input.machineName ?? null,
      platform: input.platform ?? null,
      createdAt: now,
      lastSeenAt: now,
    })
    await deps.events.write(trx, {
      type: 'license.license.activated',
      subject: { type: 'license', id: license.id },
      outcome: 'success',
      origin,
      data: { license_id: license.id, activation_id: machine.id, product: license.product, fingerprint_hash: fpHash, platform: machine.platform, activations: machines.length + 1, max_machines: license.maxMachines },
    })
    return { kind: 'activated', created: true, machine, license }
  })

  if (outcome.kind === 'refused') throw new AppError(outcome.code, outcome.detail)
  return { created: outcome.created, machine: outcome.machine, license: outcome.license, token: issueTokenFor(deps, outcome.license, fpHash, now) }
}

function refusalDetail(code: ErrorCode): string {
  if (code === 'license_revoked') return 'This license has been revoked'
  if (code === 'license_expired') return 'This license has expired'
  return 'Activations of this license are suspended'
}
