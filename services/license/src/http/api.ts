import type { ErrorCode } from '@platform/contracts'
import { routeProblems, type RouteSpec as BaseRouteSpec } from '@platform/platform/openapi'
import * as s from './schemas.ts'

/** Who may call a route: anyone (holding a key or token, say) or any valid bearer; roles are the domain's. */
export type Access = { kind: 'public' } | { kind: 'bearer' }

/** One route of the license API (path parameters are UUIDs). */
export type RouteSpec = BaseRouteSpec<Access>

const anyone = { kind: 'public' } as const
const bearer = { kind: 'bearer' } as const

/** Every route of the license service (CONTRACT §5), in the order they are mounted. */
export const api = {
  jwks: {
    method: 'get',
    path: '/licenses/.well-known/jwks.json',
    summary: 'Public keys of license tokens (JWKS)',
    description: 'A desktop app pins these at build time to verify license tokens offline.',
    access: anyone,
    success: { status: 200, description: 'The published keys', schema: s.jwksAnswer },
    problems: [],
  },
  openApi: {
    method: 'get',
    path: '/licenses/openapi.json',
    summary: 'This document',
    access: anyone,
    success: { status: 200, description: 'OpenAPI 3.1', schema: s.openApiAnswer },
    problems: [],
  },
  activate: {
    method: 'post',
    path: '/licenses/activate',
    summary: 'Activate a machine with a license key',
    description:
      'The same fingerprint again answers 200 with the same activation and a fresh token. More distinct fingerprints than `LICENSE_ABUSE` allows within its window block the key (403 `license_suspended`) until an admin clears it. Rate-limited per IP and per key.',
    access: anyone,
    body: s.activateBody,
    bodyRequired: true,
    success: { status: 201, description: 'A new activation', schema: s.activationAnswer },
    otherSuccesses: [{ status: 200, description: 'This fingerprint was already activated: the same activation, a fresh token' }],
    problems: ['license_not_found', 'license_revoked', 'license_expired', 'license_suspended', 'machine_limit_reached'],
  },
  validate: {
    method: 'post',
    path: '/licenses/validate',
    summary: 'Validate a license online',
    description:
      '`{key, fingerprint}` or `{license_token}`. A `VALID` answer is a heartbeat and carries a refreshed token; a revocation or suspension shows on the very next call. A license token that is not genuine answers 401 `invalid_token`; one past its grace 401 `token_expired` (validate with the key then).',
    access: anyone,
    body: s.validateBody,
    bodyRequired: true,
    success: { status: 200, description: 'The verdict', schema: s.validationAnswer },
    problems: ['license_not_found', 'invalid_token', 'token_expired'],
  },
  issue: {
    method: 'post',
    path: '/licenses',
    summary: 'Issue a license',
    description: 'Resellers within their quota, and admins. The key is in this answer only.',
    access: bearer,
    body: s.issueBody,
    bodyRequired: true,
    success: { status: 201, description: 'Issued', schema: s.issuedAnswer },
    problems: ['forbidden', 'quota_exceeded'],
  },
  list: {
    method: 'get',
    path: '/licenses',
    summary: 'Licenses you may see',
    description: 'Your own licenses; a reseller also those it issued; an admin all. Newest first.',
    access: bearer,
    query: s.listQuery,
    success: { status: 200, description: 'A page of licenses', schema: s.licensesAnswer },
    problems: [],
  },
  setQuota: {
    method: 'put',
    path: '/licenses/resellers/{user_id}/quota',
    summary: "Set a reseller's quota",
    description: 'Admins only. The default quota is 100 licenses; every license a reseller ever issued counts.',
    access: bearer,
    params: ['user_id'],
    body: s.quotaBody,
    bodyRequired: true,
    success: { status: 200, description: 'The quota and what is used of it', schema: s.quotaAnswer },
    problems: ['forbidden', 'not_found'],
  },
  get: {
    method: 'get',
    path: '/licenses/{id}',
    summary: 'One license with its machines',
    description: "Owner, issuer or admin; anyone else's license answers 404 as an unknown id does.",
    access: bearer,
    params: ['id'],
    success: { status: 200, description: 'The license', schema: s.licenseWithMachinesAnswer },
    problems: ['license_not_found'],
  },
  deactivateMachine: {
    method: 'delete',
    path: '/licenses/{id}/machines/{activation_id}',
    summary: 'Free a machine slot',
    description: "Owner, issuer or admin. The machine's token stops validating online.",
    access: bearer,
    params: ['id', 'activation_id'],
    success: { status: 204, description: 'Freed' },
    problems: ['license_not_found', 'activation_not_found'],
  },
  revoke: {
    method: 'post',
    path: '/licenses/{id}/revoke',
    summary: 'Revoke a license for good',
    description: 'Issuer or admin (an owner who is neither: 403). From then on validate says `REVOKED` and activation is refused.',
    access: bearer,
    params: ['id'],
    body: s.emptyBody,
    success: { status: 200, description: 'The revoked license', schema: s.licenseDetailAnswer },
    problems: ['license_not_found', 'forbidden'],
  },
  reissueKey: {
    method: 'post',
    path: '/licenses/{id}/reissue-key',
    summary: 'Replace the license key',
    description: 'Owner, issuer or admin. The old key stops working at once; activated machines keep their slots.',
    access: bearer,
    params: ['id'],
    body: s.emptyBody,
    success: { status: 200, description: 'The new key', schema: s.keyAnswer },
    problems: ['license_not_found', 'license_revoked'],
  },
  clearAbuse: {
    method: 'post',
    path: '/licenses/{id}/clear-abuse',
    summary: 'Lift an abuse suspension',
    description: 'Admins only. Activations are accepted again and the count of fingerprints starts over.',
    access: bearer,
    params: ['id'],
    body: s.emptyBody,
    success: { status: 200, description: 'The license', schema: s.licenseDetailAnswer },
    problems: ['license_not_found', 'forbidden'],
  },
} as const satisfies Record<string, RouteSpec>

export type OperationId = keyof typeof api

/** Every code a route can answer with: its own, then those of its kind (`kitProblems`). */
export function problemsOf(spec: RouteSpec): ErrorCode[] {
  return routeProblems(spec, { bearer: spec.access.kind === 'bearer' })
}
