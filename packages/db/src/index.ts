export { databaseUrlFor } from './database-url.ts'
export { openDatabase, type Database, type DatabaseOptions } from './open-database.ts'
export { PGliteDialect, type PGliteDialectConfig } from './pglite-dialect.ts'
export { inTransaction, type Executor, type RunInTransaction } from './transaction.ts'
