import { sql } from 'kysely'
import type { Executor } from '@platform/db'
import type { AuthDatabase, NewUserRow, UserRow } from './schema.ts'

type Db = Executor<AuthDatabase>

/** A user as the domain sees it. */
export type User = {
  id: string
  email: string
  passwordHash: string
  roles: string[]
  emailVerified: boolean
  disabled: boolean
  createdAt: Date
}

export function userRowToUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    roles: row.roles,
    emailVerified: row.email_verified,
    disabled: row.disabled,
    createdAt: new Date(row.created_at),
  }
}

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  const row = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst()
  return row && userRowToUser(row)
}

export async function findUserById(db: Db, id: string): Promise<User | undefined> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
  return row && userRowToUser(row)
}

/** Inserts a user; returns undefined when the e-mail is taken (no exception on the race). */
export async function insertUser(db: Db, user: NewUserRow): Promise<User | undefined> {
  const row = await db
    .insertInto('users')
    .values(user)
    .onConflict((oc) => oc.column('email').doNothing())
    .returningAll()
    .executeTakeFirst()
  return row && userRowToUser(row)
}

export async function updatePasswordHash(db: Db, id: string, passwordHash: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).execute()
}

export async function setUserRoles(db: Db, id: string, roles: readonly string[]): Promise<User | undefined> {
  const row = await db.updateTable('users').set({ roles: [...roles] }).where('id', '=', id).returningAll().executeTakeFirst()
  return row && userRowToUser(row)
}

/** Marks the user disabled; undefined when there is no such user. */
export async function disableUser(db: Db, id: string): Promise<User | undefined> {
  const row = await db.updateTable('users').set({ disabled: true }).where('id', '=', id).returningAll().executeTakeFirst()
  return row && userRowToUser(row)
}

export type UserFilter = {
  /** Exact, already normalised e-mail. */
  email?: string
  role?: string
  /** Only users whose id sorts after this one (the previous page's last). */
  afterId?: string
  limit: number
}

/** Users in id order (uuid v7: the order they were created), filtered. */
export async function listUsers(db: Db, filter: UserFilter): Promise<User[]> {
  let query = db.selectFrom('users').selectAll()
  if (filter.email !== undefined) query = query.where('email', '=', filter.email)
  if (filter.role !== undefined) query = query.where('roles', '@>', sql<string[]>`array[${filter.role}]::text[]`)
  if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId)
  const rows = await query.orderBy('id').limit(filter.limit).execute()
  return rows.map(userRowToUser)
}

export async function markEmailVerified(db: Db, userId: string): Promise<boolean> {
  const result = await db.updateTable('users').set({ email_verified: true }).where('id', '=', userId).executeTakeFirst()
  return result.numUpdatedRows > 0n
}
