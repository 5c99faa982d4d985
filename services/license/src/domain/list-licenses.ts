import { listLicenses as queryLicenses, type Cursor, type ListedLicense, type ListFilter, type ListScope } from '../store/licenses.ts'
import { nowOf, type LicenseDeps } from './deps.ts'
import { isAdmin, isReseller, type Caller } from './license.ts'

export type ListPage = { items: ListedLicense[]; next: Cursor | null }

/**
 * One page of the licenses the caller may see, newest first: admins all, resellers those they
 * own or issued, everyone else those they own. Filters narrow within that scope only, so
 * `?owner_id=<someone else>` shows a plain user nothing rather than someone else's licenses.
 */
export async function listVisibleLicenses(deps: LicenseDeps, caller: Caller, query: { filter: ListFilter; after?: Cursor | undefined; limit: number }): Promise<ListPage> {
  const scope: ListScope = isAdmin(caller) ? { kind: 'all' } : { kind: 'user', userId: caller.userId, includeIssued: isReseller(caller) }
  // One extra row tells whether another page exists without a second query.
  const rows = await queryLicenses(deps.db, { scope, filter: query.filter, after: query.after, limit: query.limit + 1, now: nowOf(deps) })
  const items = rows.slice(0, query.limit)
  const last = items[items.length - 1]
  return { items, next: rows.length > query.limit && last ? { createdAt: last.createdAt, id: last.id } : null }
}
