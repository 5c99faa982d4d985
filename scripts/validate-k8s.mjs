#!/usr/bin/env node
// Renders k8s/base and every overlay with kustomize and checks every object offline, in three
// layers; any finding fails the run (exit 1):
//
// 1. Schema: kubernetes-models' validators, generated from the Kubernetes OpenAPI document (and
//    @kubernetes-models/cert-manager's for the Certificate): required fields, types, enums,
//    formats such as quantities. An object of a kind with no schema is an error, never a skip.
// 2. Unknown fields: those validators accept any extra property, so a typo (`readinesProbe`) would
//    pass and silently drop a probe. Every object is also type-checked by the TypeScript compiler
//    against the same package's type declarations, whose excess-property check names the field.
// 3. Platform rules: what k8s/README.md promises (hardened pods, probes, no committed secrets, ...)
//    and references that kustomize does not check (a Service or NetworkPolicy selecting no pod, an
//    HPA aimed at nothing, a ConfigMap or Secret key that is not there).
//
// Usage: node scripts/validate-k8s.mjs            (needs `kubectl` 1.21+ or `kustomize` on PATH)
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { Buffer } from 'node:buffer'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

// Every render and what it must satisfy. `secrets: 'generated'` means the render brings every
// Secret it uses (kustomize secretGenerator, dev-only values); 'external' means it must contain
// none and the operator creates them (listed at the end). An overlay missing here is an error.
const RENDERS = {
  'k8s/base': { namespaced: false, secrets: 'external' },
  'k8s/overlays/dev': { namespaced: true, secrets: 'generated' },
  'k8s/overlays/prod': { namespaced: true, secrets: 'external' },
}
const MODEL_PACKAGES = ['kubernetes-models', '@kubernetes-models/cert-manager']
const DEV_SECRET_MARKER = 'dev-only'
const PLATFORM_TIERS = new Set(['edge', 'service'])
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet'])

const ts = await importOrExplain('typescript')
const yaml = await importOrExplain('js-yaml')
await importOrExplain('kubernetes-models/v1/Namespace', 'kubernetes-models')

const errors = []
const fail = (where, message) => errors.push(`${where}: ${message}`)

const renders = renderAll()
const typed = []
for (const [dir, objects] of Object.entries(renders)) {
  for (const [index, obj] of objects.entries()) {
    const where = `${dir} ${obj?.kind ?? '?'}/${obj?.metadata?.name ?? `#${index}`}`
    const model = await modelFor(obj)
    if (!model) {
      fail(
        where,
        `no schema for apiVersion ${obj?.apiVersion} kind ${obj?.kind} in ${MODEL_PACKAGES.join(' or ')}`,
      )
      continue
    }
    try {
      new model.Model(obj).validate()
    } catch (error) {
      const details = Array.isArray(error.errors)
        ? error.errors.map((e) => `${e.instancePath || '/'} ${e.message}`)
        : [String(error.message)]
      fail(where, [...new Set(details)].join('; '))
    }
    typed.push({ where, obj, specifier: model.specifier, kind: obj.kind })
  }
  checkPlatformRules(dir, objects, RENDERS[dir])
}
checkUnknownFields(typed)

if (errors.length > 0) {
  console.error(errors.map((e) => `✗ ${e}`).join('\n'))
  console.error(`k8s: ${errors.length} problem(s) in the manifests`)
  process.exit(1)
}
for (const [dir, objects] of Object.entries(renders)) {
  const external = externalSecrets(objects)
  const note = external.length ? `; Secrets to create outside git: ${external.join(', ')}` : ''
  console.log(`k8s: ${dir} renders ${objects.length} valid objects${note}`)
}

// ---- rendering ----------------------------------------------------------------------------------

function renderAll() {
  const overlays = readdirSync(path.join(ROOT, 'k8s/overlays'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `k8s/overlays/${d.name}`)
  for (const dir of overlays) {
    if (!RENDERS[dir]) fail(dir, 'overlay not listed in RENDERS of scripts/validate-k8s.mjs')
  }
  const out = {}
  for (const dir of Object.keys(RENDERS)) {
    if (!existsSync(path.join(ROOT, dir, 'kustomization.yaml'))) {
      fail(dir, 'no kustomization.yaml')
      continue
    }
    try {
      const text = kustomize(path.join(ROOT, dir))
      out[dir] = yaml
        .loadAll(text)
        .filter((doc) => doc !== null && doc !== undefined)
        .map(unwrapSecretData)
    } catch (error) {
      fail(dir, `kustomize failed: ${String(error.stderr || error.message).trim()}`)
    }
  }
  return out
}

function kustomize(dir) {
  const options = {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  }
  try {
    return execFileSync('kubectl', ['kustomize', dir], options)
  } catch (error) {
    if (error.code !== 'ENOENT') throw error
    return execFileSync('kustomize', ['build', dir], options)
  }
}

// kustomize wraps long base64 values over several lines. The API server's decoder (Go's
// encoding/base64) skips the line breaks, the schema's `byte` format does not: join them first.
function unwrapSecretData(obj) {
  if (obj?.kind !== 'Secret' || !obj.data) return obj
  const data = Object.fromEntries(
    Object.entries(obj.data).map(([k, v]) => [k, String(v).replaceAll(/[\r\n]/g, '')]),
  )
  return { ...obj, data }
}

// ---- layer 1: schema ----------------------------------------------------------------------------

async function modelFor(obj) {
  if (typeof obj?.apiVersion !== 'string' || typeof obj?.kind !== 'string') return undefined
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(obj.kind)) return undefined
  for (const pkg of MODEL_PACKAGES) {
    // Core kinds (apiVersion `v1`) live at kubernetes-models/v1, the rest at <pkg>/<group>/<version>.
    const specifier = `${pkg}/${obj.apiVersion}/${obj.kind}`
    try {
      const mod = await import(specifier)
      if (typeof mod[obj.kind] === 'function') return { Model: mod[obj.kind], specifier }
    } catch (error) {
      const absent = ['ERR_MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED'].includes(error.code)
      if (!absent) throw error
    }
  }
  return undefined
}

// ---- layer 2: unknown fields --------------------------------------------------------------------

// One virtual TypeScript file, `const o0: IDeployment = {...}` per object, compiled in memory next
// to the repository's node_modules; each diagnostic is mapped back to its object and field.
function checkUnknownFields(items) {
  if (items.length === 0) return
  const file = path.join(ROOT, 'k8s', '__validate-k8s__.ts')
  const lines = items.map(
    (item, i) => `import type { I${item.kind} as T${i} } from '${item.specifier}'`,
  )
  items.forEach((item, i) =>
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(item.obj, null, 1)}`),
  )
  const source = lines.join('\n')
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  }
  const host = ts.createCompilerHost(options)
  const sourceFile = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true)
  const { getSourceFile, fileExists, readFile } = host
  host.getSourceFile = (name, ...rest) =>
    name === file ? sourceFile : getSourceFile.call(host, name, ...rest)
  host.fileExists = (name) => name === file || fileExists.call(host, name)
  host.readFile = (name) => (name === file ? source : readFile.call(host, name))
  const program = ts.createProgram([file], options, host)
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = describeDiagnostic(diagnostic)
    if (diagnostic.file !== sourceFile || diagnostic.start === undefined) {
      fail('type check', message)
      continue
    }
    const { index, pointer } = locate(sourceFile, diagnostic.start)
    if (index === undefined) fail('type check', message)
    else fail(items[index].where, `${pointer || '/'}: ${message}`)
  }
}

function describeDiagnostic(diagnostic) {
  const lines = ts
    .flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    .split('\n')
    .map((l) => l.trim())
  const first = lines[0]
  const last = lines.at(-1)
  const text = first === last ? first : `${first} (${last})`
  return text.length > 400 ? `${text.slice(0, 400)}…` : text
}

function locate(sourceFile, position) {
  let node = sourceFile
  descend: for (;;) {
    for (const child of node.getChildren(sourceFile)) {
      if (child.getStart(sourceFile) <= position && position < child.getEnd()) {
        node = child
        continue descend
      }
    }
    break
  }
  const segments = []
  for (let n = node; n; n = n.parent) {
    if (ts.isPropertyAssignment(n)) segments.unshift(n.name.text)
    if (n.parent && ts.isArrayLiteralExpression(n.parent))
      segments.unshift(String(n.parent.elements.indexOf(n)))
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name)) {
      const pointer = segments
        .map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`)
        .join('')
      return { index: Number(n.name.text.slice(1)), pointer }
    }
  }
  return { index: undefined, pointer: '' }
}

// ---- layer 3: platform rules --------------------------------------------------------------------

function checkPlatformRules(dir, objects, rules) {
  const at = (obj) => `${dir} ${obj.kind}/${obj.metadata?.name}`
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind))
  const podLabels = workloads.map((w) => ({
    workload: w,
    labels: w.spec?.template?.metadata?.labels ?? {},
  }))
  const selects = (selector) =>
    podLabels.filter((p) => matches(selector, p.labels)).map((p) => p.workload)
  const byKind = (kind) => objects.filter((o) => o.kind === kind)
  const named = (kind, name) => objects.find((o) => o.kind === kind && o.metadata?.name === name)

  const seen = new Set()
  for (const obj of objects) {
    if (!obj.metadata?.name) fail(at(obj), 'metadata.name is missing')
    const key = `${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`
    if (seen.has(key)) fail(at(obj), 'defined twice')
    seen.add(key)
    if (!rules.namespaced && obj.metadata?.namespace)
      fail(at(obj), 'base must stay namespace-agnostic')
    if (rules.namespaced && obj.kind !== 'Namespace' && !obj.metadata?.namespace)
      fail(at(obj), 'no namespace')
  }

  for (const secret of byKind('Secret')) {
    if (rules.secrets === 'external') {
      fail(
        at(secret),
        'a Secret with values is committed; this render must take its Secrets from outside git',
      )
      continue
    }
    for (const [key, value] of Object.entries(secret.data ?? {})) {
      if (!Buffer.from(value, 'base64').toString('utf8').includes(DEV_SECRET_MARKER)) {
        fail(
          at(secret),
          `key ${key}: a generated value must carry the "${DEV_SECRET_MARKER}" marker`,
        )
      }
    }
    if (secret.stringData)
      fail(at(secret), 'stringData: generate dev secrets with secretGenerator literals')
  }

  for (const workload of workloads) checkWorkload(at(workload), workload, objects)

  for (const service of byKind('Service')) {
    if (service.spec?.type === 'ExternalName') continue
    const pods = selects({ matchLabels: service.spec?.selector })
    if (!service.spec?.selector || pods.length === 0)
      fail(at(service), 'selector matches no pod template')
    for (const port of service.spec?.ports ?? []) {
      if (
        typeof port.targetPort === 'string' &&
        !pods.some((w) => hasPortNamed(w, port.targetPort))
      ) {
        fail(at(service), `targetPort ${port.targetPort} is no container port of the selected pods`)
      }
    }
  }
  for (const hpa of byKind('HorizontalPodAutoscaler')) {
    const ref = hpa.spec?.scaleTargetRef ?? {}
    if (!named(ref.kind, ref.name))
      fail(at(hpa), `scaleTargetRef ${ref.kind}/${ref.name} is not in the render`)
  }
  for (const pdb of byKind('PodDisruptionBudget')) {
    if (selects(pdb.spec?.selector).length === 0) fail(at(pdb), 'selector matches no pod template')
  }
  for (const policy of byKind('NetworkPolicy')) {
    const target = policy.spec?.podSelector ?? {}
    const pods = isEmptySelector(target) ? workloads : selects(target)
    if (pods.length === 0) fail(at(policy), 'podSelector matches no pod template')
    for (const rule of policy.spec?.ingress ?? []) {
      for (const peer of rule.from ?? []) {
        if (peer.podSelector && !peer.namespaceSelector && selects(peer.podSelector).length === 0) {
          fail(
            at(policy),
            `from podSelector ${JSON.stringify(peer.podSelector)} matches no pod template`,
          )
        }
      }
      for (const port of rule.ports ?? []) {
        if (typeof port.port === 'string' && !pods.some((w) => hasPortNamed(w, port.port))) {
          fail(at(policy), `port ${port.port} is no container port of the selected pods`)
        }
      }
    }
  }

  for (const workload of workloads) {
    for (const ref of configReferences(workload)) {
      const found = named(ref.kind, ref.name)
      if (!found) {
        if (ref.kind === 'ConfigMap' && !ref.optional)
          fail(at(workload), `ConfigMap ${ref.name} is not in the render`)
        if (ref.kind === 'Secret' && rules.secrets === 'generated' && !ref.optional) {
          fail(at(workload), `Secret ${ref.name} is not generated by this render`)
        }
        continue
      }
      const data = { ...found.data, ...found.stringData }
      if (ref.key !== undefined && !(ref.key in data) && !ref.optional) {
        fail(at(workload), `${ref.kind} ${ref.name} has no key ${ref.key}`)
      }
    }
  }
}

function checkWorkload(where, workload, objects) {
  const meta = workload.spec?.template?.metadata ?? {}
  const pod = workload.spec?.template?.spec ?? {}
  const tier = meta.labels?.['app.kubernetes.io/component']
  const platform = PLATFORM_TIERS.has(tier)
  const must = (ok, message) => ok || fail(where, message)

  // The "restricted" Pod Security Standard, for every pod.
  must(pod.securityContext?.runAsNonRoot === true, 'pod securityContext.runAsNonRoot must be true')
  must(
    pod.securityContext?.seccompProfile?.type === 'RuntimeDefault',
    'pod seccompProfile must be RuntimeDefault',
  )
  must(pod.automountServiceAccountToken === false, 'automountServiceAccountToken must be false')
  must(
    pod.enableServiceLinks === false,
    'enableServiceLinks must be false (service links clash with *_PORT settings)',
  )
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const sc = c.securityContext ?? {}
    const name = `container ${c.name}`
    must(sc.allowPrivilegeEscalation === false, `${name}: allowPrivilegeEscalation must be false`)
    must((sc.capabilities?.drop ?? []).includes('ALL'), `${name}: capabilities must drop ALL`)
    must(
      /[:@]/.test(String(c.image).split('/').at(-1)) && !String(c.image).endsWith(':latest'),
      `${name}: image needs a pinned tag or digest`,
    )
    must(
      c.resources?.requests?.cpu && c.resources?.requests?.memory,
      `${name}: resources.requests cpu and memory are required`,
    )
    must(c.resources?.limits?.memory, `${name}: resources.limits.memory is required`)
    must(c.readinessProbe, `${name}: readinessProbe is required`)
  }
  if (!platform) return

  // The platform's own services: what k8s/README.md promises for each of them.
  const labels = meta.labels ?? {}
  must(pod.securityContext?.runAsUser === 1000, 'pod runAsUser must be 1000 (the image user)')
  must((pod.topologySpreadConstraints ?? []).length > 0, 'topologySpreadConstraints are required')
  must(
    workload.spec?.replicas === undefined,
    'replicas must be left to the HorizontalPodAutoscaler',
  )
  const annotations = meta.annotations ?? {}
  must(
    annotations['prometheus.io/scrape'] === 'true' && annotations['prometheus.io/path'],
    'prometheus.io scrape annotations are required',
  )
  const scrapePort = Number(annotations['prometheus.io/port'])
  for (const c of pod.containers ?? []) {
    const name = `container ${c.name}`
    must(
      c.securityContext?.readOnlyRootFilesystem === true,
      `${name}: readOnlyRootFilesystem must be true`,
    )
    must(c.livenessProbe && c.startupProbe, `${name}: livenessProbe and startupProbe are required`)
    must(
      c.lifecycle?.preStop,
      `${name}: a preStop hook is required so endpoints drain before SIGTERM`,
    )
    must(c.resources?.limits?.cpu, `${name}: resources.limits.cpu is required`)
    const mounts = new Set((c.volumeMounts ?? []).map((m) => m.mountPath))
    const dataDir = (c.env ?? []).find((e) => e.name === 'DATA_DIR')?.value
    must(mounts.has('/tmp'), `${name}: /tmp needs a volume (read-only root)`)
    must(dataDir && mounts.has(dataDir), `${name}: DATA_DIR needs a volume (read-only root)`)
    must(
      (c.env ?? []).some((e) => e.name === 'BIND_HOST' && e.value === '0.0.0.0'),
      `${name}: BIND_HOST must be 0.0.0.0`,
    )
  }
  must(
    (pod.containers ?? []).some((c) => (c.ports ?? []).some((p) => p.containerPort === scrapePort)),
    'prometheus.io/port is no container port',
  )
  const sleep = Number(pod.containers?.[0]?.lifecycle?.preStop?.exec?.command?.at(-1) ?? 0)
  must(
    (pod.terminationGracePeriodSeconds ?? 30) > sleep + 10,
    'terminationGracePeriodSeconds must exceed the preStop sleep plus the 10 s drain',
  )
  const targets = (kind) => objects.filter((o) => o.kind === kind)
  must(
    targets('HorizontalPodAutoscaler').some(
      (h) => h.spec?.scaleTargetRef?.name === workload.metadata?.name,
    ),
    'no HorizontalPodAutoscaler targets it',
  )
  must(
    targets('PodDisruptionBudget').some((p) => matches(p.spec?.selector, labels)),
    'no PodDisruptionBudget covers it',
  )
  must(
    targets('Service').some((s) => matches({ matchLabels: s.spec?.selector }, labels)),
    'no Service selects it',
  )
}

function configReferences(workload) {
  const pod = workload.spec?.template?.spec ?? {}
  const refs = []
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    for (const from of c.envFrom ?? []) {
      if (from.configMapRef)
        refs.push({
          kind: 'ConfigMap',
          name: from.configMapRef.name,
          optional: from.configMapRef.optional,
        })
      if (from.secretRef)
        refs.push({ kind: 'Secret', name: from.secretRef.name, optional: from.secretRef.optional })
    }
    for (const env of c.env ?? []) {
      const cm = env.valueFrom?.configMapKeyRef
      const secret = env.valueFrom?.secretKeyRef
      if (cm) refs.push({ kind: 'ConfigMap', name: cm.name, key: cm.key, optional: cm.optional })
      if (secret)
        refs.push({ kind: 'Secret', name: secret.name, key: secret.key, optional: secret.optional })
    }
  }
  for (const volume of pod.volumes ?? []) {
    if (volume.configMap)
      refs.push({
        kind: 'ConfigMap',
        name: volume.configMap.name,
        optional: volume.configMap.optional,
      })
    if (volume.secret)
      refs.push({
        kind: 'Secret',
        name: volume.secret.secretName,
        optional: volume.secret.optional,
      })
  }
  return refs
}

function externalSecrets(objects) {
  const rendered = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata?.name))
  const wanted = new Set()
  for (const workload of objects.filter((o) => WORKLOAD_KINDS.has(o.kind))) {
    for (const ref of configReferences(workload)) {
      if (ref.kind === 'Secret' && !rendered.has(ref.name)) wanted.add(ref.name)
    }
  }
  for (const cert of objects.filter((o) => o.kind === 'Certificate'))
    wanted.delete(cert.spec?.secretName)
  return [...wanted].sort()
}

function hasPortNamed(workload, name) {
  const containers = workload.spec?.template?.spec?.containers ?? []
  return containers.some((c) => (c.ports ?? []).some((p) => p.name === name))
}

function isEmptySelector(selector) {
  return (
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0
  )
}

// matchLabels only; a matchExpressions selector is not used here and counts as matching nothing.
function matches(selector, labels) {
  if (!selector || (selector.matchExpressions ?? []).length > 0) return false
  const wanted = Object.entries(selector.matchLabels ?? {})
  return wanted.length > 0 && wanted.every(([key, value]) => labels[key] === value)
}

async function importOrExplain(specifier, pkg = specifier) {
  try {
    const mod = await import(specifier)
    return mod.default ?? mod
  } catch (error) {
    if (error.code !== 'ERR_MODULE_NOT_FOUND') throw error
    console.error(
      `validate-k8s: the package ${pkg} is missing; it is a root devDependency, run \`npm ci\``,
    )
    process.exit(1)
  }
}
