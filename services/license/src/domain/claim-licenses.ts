import { claimLicensesByEmail, hasUnclaimedLicenses } from '../store/licenses.ts'
import { nowOf, type LicenseDeps } from './deps.ts'
import type { Caller } from './license.ts'

/**
 * Gives a caller the licenses issued to their e-mail address before they had an account (or
 * before the issuer knew their id). Only a verified address claims anything: otherwise whoever
 * registered someone else's address first would own that person's license, and could reissue
 * its key. The access token carries no e-mail, so `emails` asks auth for it (cached).
 * Never fails the request: an unreachable auth only postpones the claim to a later call.
 */
export async function claimPendingLicenses(deps: LicenseDeps, caller: Caller, accessToken: string): Promise<void> {
  if (!caller.emailVerified) return
  let email: string | undefined
  try {
    email = await deps.emails.emailOf(caller.userId, accessToken)
  } catch (error) {
    deps.log.warn({ err: error }, 'could not learn the caller e-mail from auth; licenses issued to it stay unclaimed for now')
    return
  }
  if (!email || !(await hasUnclaimedLicenses(deps.db, email.toLowerCase()))) return
  const now = nowOf(deps)
  await deps.inTransaction(async (trx) => {
    const ids = await claimLicensesByEmail(trx, caller.userId, email.toLowerCase(), now)
    for (const id of ids) {
      await deps.events.write(trx, {
        type: 'license.license.claimed',
        subject: { type: 'license', id },
        outcome: 'success',
        origin: { actorId: caller.userId },
        data: { license_id: id, owner_id: caller.userId },
      })
    }
  })
}
