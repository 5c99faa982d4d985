import { sql, type Kysely } from 'kysely'

/**
 * The rotation of 0006 with one write to the session instead of two: the row lock it took
 * (`select … for update`) and the `last_used_at` touch after it become a single `update`,
 * which locks the row as well. The session is touched only while the presented token is still
 * unspent; under a race, the token's own `used_at is null` recheck decides, as before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function auth_rotate_refresh_token(p_token_hash text, p_successor_id uuid, p_successor_hash text, p_now timestamptz)
    returns table (session_id uuid, user_id uuid, roles text[], email_verified boolean, not_before bigint)
    language plpgsql as $$
    begin
      return query
      with presented as (
        select rt.session_id from refresh_tokens rt
        where rt.token_hash = p_token_hash and rt.used_at is null and rt.expires_at > p_now
      ), session as (
        update sessions s set last_used_at = p_now
        from users u
        where s.id = (select presented.session_id from presented) and u.id = s.user_id and not u.disabled
          and s.revoked_at is null and s.expires_at > p_now
        returning s.id, s.user_id, s.expires_at
      ), spent as (
        update refresh_tokens t set used_at = p_now
        from session
        where t.token_hash = p_token_hash and t.session_id = session.id and t.used_at is null and t.expires_at > p_now
        returning t.id, t.session_id, session.user_id, session.expires_at
      ), successor as (
        insert into refresh_tokens (id, session_id, token_hash, parent_id, created_at, expires_at)
        select p_successor_id, spent.session_id, p_successor_hash, spent.id, p_now, spent.expires_at from spent
      )
      select spent.session_id, u.id, u.roles, u.email_verified,
        (select max(r.data::bigint) from revocations r
          where r.expires_at > p_now and ((r.kind = 'user_nbf' and r.value = u.id::text) or (r.kind = 'global_nbf' and r.value = 'global')))
      from spent join users u on u.id = spent.user_id;
    end
    $$`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const previous = await import('./0006-rotate-refresh-token-function.ts')
  await sql`drop function if exists auth_rotate_refresh_token(text, uuid, text, timestamptz)`.execute(db)
  await sql`drop index if exists revocations_value_kind`.execute(db)
  await previous.up(db)
}
