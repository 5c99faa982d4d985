export { problems, problemFor, problemType, PROBLEM_TYPE_BASE } from './problems.ts'
export type { ErrorCode, Problem } from './problems.ts'
export { ROLES, type Role } from './roles.ts'
export { IDENTITY_HEADERS, type VerifiedIdentity } from './identity.ts'
