import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import { AppError, hmacHex, parseInput } from '@platform/platform'
import { bearerTokenOf, toJwks } from '@platform/tokens'
import { claimsOf } from '@platform/tokens/express'
import type { EventOrigin } from '../events/publish.ts'
import { activateLicense } from '../domain/activate-license.ts'
import { claimPendingLicenses } from '../domain/claim-licenses.ts'
import { nowOf, type LicenseDeps } from '../domain/deps.ts'
import { issueLicense } from '../domain/issue-license.ts'
import type { Caller } from '../domain/license.ts'
import { listVisibleLicenses } from '../domain/list-licenses.ts'
import { clearAbuse, deactivateMachine, getLicense, reissueKey, revokeLicense } from '../domain/manage-license.ts'
import { setResellerQuota } from '../domain/quota.ts'
import { validateByKey, validateByToken, type ValidationResult } from '../domain/validate-license.ts'
import type { z } from 'zod'
import { api, type OperationId, type RouteSpec } from './api.ts'
import { buildOpenApi } from './openapi.ts'
import {
  idParam,
  type activationAnswer,
  type issuedAnswer,
  type keyAnswer,
  type licenseDetailAnswer,
  type licensesAnswer,
  type licenseWithMachinesAnswer,
  type quotaAnswer,
  type validationAnswer,
} from './schemas.ts'
import { decodeCursor, encodeCursor, licenseDetailToWire, licenseToWire, listedToWire, machineToWire } from './wire.ts'

/**
 * The `/licenses` routes of CONTRACT §5: the table in `api.ts` says path, method and who may
 * call; this mounts each with its guards and handler (a route without a handler does not
 * compile). Handlers parse, call the domain, map to the wire.
 */
export function licenseRoutes(deps: LicenseDeps, opts: { bearer: RequestHandler; publicUrl: string }): Router {
  let document: object | undefined
  const handlers: Record<OperationId, RequestHandler> = {
    jwks: (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300')
      res.json(toJwks(deps.keys.all()))
    },

    openApi: (_req, res) => {
      document ??= buildOpenApi({ serverUrl: opts.publicUrl })
      res.json(document)
    },

    activate: async (req, res) => {
      const input = parseInput(api.activate.body, req.body ?? {})
      const activation = await activateLicense(
        deps,
        { key: input.key, fingerprint: input.fingerprint, machineName: input.machine_name, platform: input.platform },
        originOf(deps, req),
      )
      res.status(activation.created ? 201 : 200).json({
        activation_id: activation.machine.id,
        license_id: activation.license.id,
        license_token: activation.token.token,
        validate_before: activation.token.validateBefore.toISOString(),
        grace_until: activation.token.graceUntil.toISOString(),
      } satisfies z.input<typeof activationAnswer>)
    },

    validate: async (req, res) => {
      const input = parseInput(api.validate.body, req.body ?? {})
      const origin = originOf(deps, req)
      const result = 'license_token' in input ? await validateByToken(deps, { token: input.license_token }, origin) : await validateByKey(deps, input, origin)
      res.json(validationToWire(result))
    },

    issue: async (req, res) => {
      const input = parseInput(api.issue.body, req.body ?? {})
      const caller = callerOf(res)
      const { license, key } = await issueLicense(
        deps,
        caller,
        {
          product: input.product,
          maxMachines: input.max_machines,
          expiresAt: input.expires_at ? new Date(input.expires_at) : undefined,
          ownerId: input.owner_id,
          ownerEmail: input.owner_email,
          entitlements: input.entitlements,
        },
        originOf(deps, req),
      )
      const { id, ...rest } = licenseToWire(license, nowOf(deps))
      res.status(201).location(`/licenses/${id}`).json({ id, key, ...rest } satisfies z.input<typeof issuedAnswer>)
    },

    list: async (req, res) => {
      const query = parseInput(api.list.query, { ...req.query })
      const page = await listVisibleLicenses(deps, callerOf(res), {
        filter: { ownerId: query.owner_id, issuedBy: query.issued_by, product: query.product, status: query.status },
        after: query.cursor ? decodeCursor(query.cursor) : undefined,
        limit: query.limit,
      })
      const now = nowOf(deps)
      res.json({ items: page.items.map((l) => listedToWire(l, now)), next_cursor: page.next ? encodeCursor(page.next) : null } satisfies z.input<typeof licensesAnswer>)
    },

    setQuota: async (req, res) => {
      const userId = idOf(req.params.user_id, 'not_found')
      const { quota } = parseInput(api.setQuota.body, req.body ?? {})
      const result = await setResellerQuota(deps, callerOf(res), userId, quota, originOf(deps, req))
      res.json({ user_id: userId, quota: result.quota, issued: result.issued } satisfies z.input<typeof quotaAnswer>)
    },

    get: async (req, res) => {
      const { license, machines } = await getLicense(deps, callerOf(res), idOf(req.params.id))
      res.json({ ...licenseDetailToWire(license, machines.length, nowOf(deps)), machines: machines.map(machineToWire) } satisfies z.input<typeof licenseWithMachinesAnswer>)
    },

    deactivateMachine: async (req, res) => {
      const id = idOf(req.params.id)
      const activationId = idOf(req.params.activation_id, 'activation_not_found')
      await deactivateMachine(deps, callerOf(res), id, activationId, originOf(deps, req))
      res.status(204).end()
    },

    revoke: async (req, res) => {
      parseInput(api.revoke.body, req.body ?? {})
      const license = await revokeLicense(deps, callerOf(res), idOf(req.params.id), originOf(deps, req))
      res.json(licenseDetailToWire(license, 0, nowOf(deps)) satisfies z.input<typeof licenseDetailAnswer>)
    },

    reissueKey: async (req, res) => {
      parseInput(api.reissueKey.body, req.body ?? {})
      const key = await reissueKey(deps, callerOf(res), idOf(req.params.id), originOf(deps, req))
      res.json({ key } satisfies z.input<typeof keyAnswer>)
    },

    clearAbuse: async (req, res) => {
      parseInput(api.clearAbuse.body, req.body ?? {})
      const license = await clearAbuse(deps, callerOf(res), idOf(req.params.id), originOf(deps, req))
      res.json(licenseDetailToWire(license, 0, nowOf(deps)) satisfies z.input<typeof licenseDetailAnswer>)
    },
  }

  const bearer = [opts.bearer, claimFor(deps)]
  const router = Router()
  for (const [id, spec] of Object.entries(api) as [OperationId, RouteSpec][]) {
    router[spec.method](routerPath(spec.path), ...(spec.access.kind === 'bearer' ? bearer : []), handlers[id])
  }
  return router
}

/** `/licenses/{id}/revoke` → `/:id/revoke`: the router is mounted at `/licenses`. */
function routerPath(path: string): string {
  return path.replace(/^\/licenses/, '').replace(/\{(\w+)\}/g, ':$1') || '/'
}

function validationToWire(result: ValidationResult): z.input<typeof validationAnswer> {
  return {
    valid: result.valid,
    code: result.code,
    license_id: result.license.id,
    expires_at: result.license.expiresAt?.toISOString() ?? null,
    ...(result.token ? { license_token: result.token.token, validate_before: result.token.validateBefore.toISOString(), grace_until: result.token.graceUntil.toISOString() } : {}),
  }
}

function callerOf(res: Response): Caller {
  const claims = claimsOf(res)
  return { userId: claims.sub, roles: claims.roles, emailVerified: claims.email_verified === true }
}

/** A path id that is not a UUID names nothing: the same 404 as an unknown one. */
function idOf(value: string | string[] | undefined, code: 'license_not_found' | 'activation_not_found' | 'not_found' = 'license_not_found'): string {
  const parsed = idParam.safeParse(value)
  if (!parsed.success) throw new AppError(code)
  return parsed.data.toLowerCase()
}

/** Claims licenses issued to the caller's verified e-mail before the route looks at ownership. */
function claimFor(deps: LicenseDeps): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const token = bearerTokenOf(req.header('authorization'))
    if (token) await claimPendingLicenses(deps, callerOf(res), token)
    next()
  }
}

/** What events say about the request: a keyed hash of the client IP (never the IP) and the user agent. */
function originOf(deps: LicenseDeps, req: Request): EventOrigin {
  return {
    ipHash: req.ip ? hmacHex(deps.keySecret, `ip:${req.ip}`) : undefined,
    userAgent: req.header('user-agent')?.slice(0, 256),
  }
}
