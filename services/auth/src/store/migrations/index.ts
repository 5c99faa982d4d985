import type { Migration } from 'kysely'
import * as createAuthTables from './0001-create-auth-tables.ts'
import * as createSigningKeys from './0002-create-signing-keys.ts'
import { outboxMigration } from '@platform/bus/outbox'
import * as createEmailVerificationTokens from './0004-create-email-verification-tokens.ts'
import * as createPasswordResetTokens from './0005-create-password-reset-tokens.ts'
import * as rotateRefreshTokenFunction from './0006-rotate-refresh-token-function.ts'
import * as roomForHotUpdates from './0007-room-for-hot-updates.ts'
import * as rotateWithOneSessionUpdate from './0008-rotate-with-one-session-update.ts'
import * as indexSessionExpiry from './0009-index-session-expiry.ts'

/** Auth's migrations in order; applied at start by `openDatabase`. */
export const authMigrations: Record<string, Migration> = {
  '0001-create-auth-tables': createAuthTables,
  '0002-create-signing-keys': createSigningKeys,
  '0003-outbox': outboxMigration,
  '0004-create-email-verification-tokens': createEmailVerificationTokens,
  '0005-create-password-reset-tokens': createPasswordResetTokens,
  '0006-rotate-refresh-token-function': rotateRefreshTokenFunction,
  '0007-room-for-hot-updates': roomForHotUpdates,
  '0008-rotate-with-one-session-update': rotateWithOneSessionUpdate,
  '0009-index-session-expiry': indexSessionExpiry,
}
