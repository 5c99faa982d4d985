#!/usr/bin/env node
// Checks infra/ with promtool (Debian package `prometheus`), failing on the first problem:
// 1. infra/prometheus/alerts.yml: `promtool check rules`, then its unit tests in alerts.test.yml.
// 2. infra/prometheus/prometheus.yml: `promtool check config`. Debian builds promtool without
//    Kubernetes service discovery, so a copy with `static_configs` in its place is checked; the
//    relabelling, the rule file and everything else are checked as written.
// 3. infra/grafana/platform.json: the dashboard's layout and data source, and every panel's PromQL,
//    with Grafana's variables replaced by sample values, as recording rules through promtool.
//
// Usage: node scripts/check-observability.mjs
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import yaml from 'js-yaml'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const PROMETHEUS_DIR = path.join(ROOT, 'infra/prometheus')
const DASHBOARD = path.join(ROOT, 'infra/grafana/platform.json')
// Sample values for Grafana's variables, so that each query is plain PromQL.
const GRAFANA_VARIABLES = {
  $__rate_interval: '1m',
  $__interval: '15s',
  $__range: '1h',
  $namespace: '.*',
  $service: '.*',
}

const work = mkdtempSync(path.join(tmpdir(), 'check-observability-'))
try {
  promtool(['check', 'rules', path.join(PROMETHEUS_DIR, 'alerts.yml')])
  promtool(['test', 'rules', path.join(PROMETHEUS_DIR, 'alerts.test.yml')])
  checkScrapeConfig()
  checkDashboard()
  console.log('observability: alerts, their tests, scrape config and dashboard are valid')
} catch (error) {
  console.error(`observability: ${error.message}`)
  process.exitCode = 1
} finally {
  rmSync(work, { recursive: true, force: true })
}

function promtool(args) {
  try {
    execFileSync('promtool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() || error.message
    throw new Error(`promtool ${args.slice(0, 2).join(' ')} failed:\n${output}`)
  }
}

function checkScrapeConfig() {
  const config = yaml.load(readFileSync(path.join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8'))
  for (const job of config.scrape_configs ?? []) {
    if (!job.kubernetes_sd_configs) continue
    delete job.kubernetes_sd_configs
    job.static_configs = [{ targets: [] }]
  }
  for (const file of config.rule_files ?? []) {
    copyFileSync(path.join(PROMETHEUS_DIR, file), path.join(work, file))
  }
  const copy = path.join(work, 'prometheus.yml')
  writeFileSync(copy, yaml.dump(config))
  promtool(['check', 'config', copy])
}

function checkDashboard() {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'))
  const problems = []
  const ids = new Set()
  const cells = new Map()
  const rules = []
  for (const panel of dashboard.panels ?? []) {
    const name = `panel ${panel.id} "${panel.title}"`
    if (ids.has(panel.id)) problems.push(`${name}: duplicate id`)
    ids.add(panel.id)
    const { x, y, w, h } = panel.gridPos ?? {}
    if (![x, y, w, h].every(Number.isInteger) || x + w > 24) problems.push(`${name}: bad gridPos`)
    for (let row = y; row < y + h; row += 1) {
      for (let col = x; col < x + w; col += 1) {
        const other = cells.get(`${col},${row}`)
        if (other !== undefined && other !== panel.id)
          problems.push(`${name}: overlaps panel ${other}`)
        cells.set(`${col},${row}`, panel.id)
      }
    }
    if (panel.type === 'row') continue
    if (panel.datasource?.uid !== '${datasource}')
      problems.push(`${name}: data source must be \${datasource}`)
    if (!(panel.targets ?? []).length) problems.push(`${name}: no query`)
    for (const target of panel.targets ?? []) {
      if (!target.expr) problems.push(`${name} ${target.refId}: empty expr`)
      rules.push({
        record: `dashboard:panel_${panel.id}_${target.refId}`,
        expr: withSamples(target.expr),
      })
    }
  }
  if (problems.length) throw new Error(`${DASHBOARD}:\n${[...new Set(problems)].join('\n')}`)
  const file = path.join(work, 'dashboard-queries.yml')
  writeFileSync(file, yaml.dump({ groups: [{ name: 'dashboard-queries', rules }] }))
  promtool(['check', 'rules', file])
}

function withSamples(expr) {
  let out = String(expr)
  // Longest names first, so `$__rate_interval` is not read as `$__r...` of a shorter one.
  for (const name of Object.keys(GRAFANA_VARIABLES).sort((a, b) => b.length - a.length)) {
    out = out.replaceAll(name, GRAFANA_VARIABLES[name])
  }
  if (out.includes('$')) throw new Error(`${DASHBOARD}: unknown variable in ${expr}`)
  return out
}
