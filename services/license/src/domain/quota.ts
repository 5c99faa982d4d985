import { AppError } from '@platform/platform'
import type { EventOrigin } from '../events/publish.ts'
import { setQuota } from '../store/quotas.ts'
import { nowOf, type LicenseDeps } from './deps.ts'
import { isAdmin, type Caller } from './license.ts'

/** Sets how many licenses a reseller may issue in total (admin only); returns the new state. */
export async function setResellerQuota(deps: LicenseDeps, caller: Caller, userId: string, quota: number, origin: EventOrigin = {}): Promise<{ quota: number; issued: number }> {
  if (!isAdmin(caller)) throw new AppError('forbidden', 'Only an admin can set reseller quotas')
  const now = nowOf(deps)
  return deps.inTransaction(async (trx) => {
    const result = await setQuota(trx, userId, quota, now)
    await deps.events.write(trx, {
      type: 'license.reseller_quota.changed',
      subject: { type: 'user', id: userId },
      outcome: 'success',
      origin: { ...origin, actorId: caller.userId },
      data: { user_id: userId, quota: result.quota, issued: result.issued },
    })
    return result
  })
}
