'use strict'
// Side-by-side benchmark: clawsock vs ws vs Node's global WebSocket (undici),
// against a fast Rust peer, with a raw Rust client as the ceiling.
// Writes bench/results/latest.{json,md} and bench/results/ratios.svg.
//
//   node bench/run.js [--runs 5] [--only recv-small,rtt,...] [--quick]
//   --only names: the SCENARIOS ids (recv-small, recv-large-bin,
//   recv-large-text, rtt, send, idle, idle-10k, burst-10k, connect-ws,
//   connect-wss), gateway-events, cold, footprint, gateway
//
// Each measurement is a fresh child process; within one run the clients take
// turns (rotated start) so machine noise spreads over all of them.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync, execFileSync } = require('node:child_process')

const ROOT = path.resolve(__dirname, '..')
const RESULTS = path.join(__dirname, 'results')
const SERVER = path.join(__dirname, 'target', 'release', 'bench-server')
const RCLIENT = path.join(__dirname, 'target', 'release', 'bench-client')
const { nodeBinary } = require(path.join(ROOT, '__test__', 'harness', 'node-versions.js'))
const { makeTestPki } = require(path.join(ROOT, '__test__', 'harness', 'tls.js'))
const { renderMarkdown } = require('./report.js')
const { renderSvg } = require('./chart.js')

const argv = process.argv.slice(2)
const flag = (name, dflt) => {
  const i = argv.indexOf(name)
  return i < 0 ? dflt : argv[i + 1]
}
const QUICK = argv.includes('--quick')
const RUNS = Number(flag('--runs', QUICK ? 2 : 5))
const ONLY = flag('--only', null)?.split(',')

const NODE24 = nodeBinary(24)
const NODE22 = nodeBinary(22)
const version = (bin) => execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()

// client rows: id -> { client, node }
const CLIENTS = {
  clawsock: { client: 'clawsock', node: NODE24, label: 'clawsock (Node 24)' },
  ws: { client: 'ws', node: NODE24, label: 'ws@8 + bufferutil + utf-8-validate (Node 24)' },
  undici24: { client: 'undici', node: NODE24, label: 'Node 24 global WebSocket' },
  undici22: { client: 'undici', node: NODE22, label: 'Node 22 global WebSocket' },
}
// Optional extra row: a scratch copy of the package (same layout as the repo
// root) with proposed fixes, measured in the same run. Not set by default.
const CANDIDATE = process.env.CLAWSOCK_BENCH_CANDIDATE
if (CANDIDATE) {
  CLIENTS.candidate = { client: 'clawsock', node: NODE24, env: { CLAWSOCK_PATH: path.resolve(CANDIDATE) }, label: `clawsock with proposed fixes (${CANDIDATE})` }
}

const S = QUICK ? 0.25 : 1 // size scale for --quick
// (8b) gateway event stream: events measured, events before, bytes of JSON each
const GW_EVENTS = QUICK ? { n: 50000, warm: 5000, size: 300 } : { n: 200000, warm: 20000, size: 300 }
const SCENARIOS = [
  { id: 'recv-small', title: '(1) receive 100 B JSON text', unit: 'msg/s', better: 'higher', metric: 'msgsPerSec',
    scenario: 'recv', path: `/blast?n=${200000 * S}&size=100&type=text`, params: { n: 200000 * S }, rust: ['recv', 200000 * S] },
  { id: 'recv-large-bin', title: '(2) receive 1 MiB binary', unit: 'MB/s', better: 'higher', metric: 'mbPerSec',
    scenario: 'recv', path: `/blast?n=${1000 * S}&size=1048576&type=binary`, params: { n: 1000 * S }, rust: ['recv', 1000 * S] },
  { id: 'recv-large-text', title: '(2) receive 1 MiB text', unit: 'MB/s', better: 'higher', metric: 'mbPerSec',
    scenario: 'recv', path: `/blast?n=${1000 * S}&size=1048576&type=text`, params: { n: 1000 * S }, rust: ['recv', 1000 * S] },
  { id: 'rtt', title: '(3) echo RTT 100 B, one in flight', unit: 'µs', better: 'lower', metric: ['p50', 'p99', 'cpuUsPerRtt'],
    scenario: 'rtt', path: '/echo', params: { n: 20000 * S, size: 100 }, rust: ['rtt', 20000 * S, 100] },
  { id: 'send', title: '(4) send 100 B text', unit: 'msg/s', better: 'higher', metric: 'msgsPerSec',
    scenario: 'send', path: `/sink?n=${200000 * S}`, params: { n: 200000 * S, size: 100 }, rust: ['send', 200000 * S, 100] },
  { id: 'idle', title: '(5) 1,000 idle connections', unit: 'KiB/conn', better: 'lower', metric: ['rssPerConnKB', 'idleCpuPct'],
    scenario: 'idle', path: '/hold', params: { n: QUICK ? 200 : 1000, idleMs: QUICK ? 1000 : 3000 }, nodeArgs: ['--expose-gc'] },
  { id: 'idle-10k', title: `(5b) ${(QUICK ? 2000 : 10000).toLocaleString('en-US')} idle connections`, unit: 'KiB/conn', better: 'lower',
    metric: ['marginalKB', 'rssPerConnKB'], scenario: 'idle-scale', path: '/hold', params: { n1: QUICK ? 200 : 1000, n2: QUICK ? 2000 : 10000 },
    nodeArgs: ['--expose-gc'], clients: ['clawsock', 'ws', 'undici24'], timeoutMs: 300000 },
  { id: 'burst-10k', title: `(5c) open ${(QUICK ? 2000 : 10000).toLocaleString('en-US')} + one echo each`, unit: '', better: 'lower',
    metric: ['secs', 'peakRssMB'], scenario: 'burst', path: '/echo', params: { n: QUICK ? 2000 : 10000, inflight: 200, size: 100 },
    clients: ['clawsock', 'ws', 'undici24'], timeoutMs: 300000 },
  { id: 'connect-ws', title: '(6) connect to open, ws://', unit: 'ms', better: 'lower', metric: ['p50', 'p99'],
    scenario: 'connect', path: '/hold', params: { n: 200 * S }, rust: ['connect', 200 * S] },
  { id: 'connect-wss', title: '(6) connect to open, wss://', unit: 'ms', better: 'lower', metric: ['p50', 'p99'],
    scenario: 'connect', path: '/hold', tls: true, params: { n: 200 * S } },
]

function run(cmd, args, { env, timeoutMs = 180000, cwd = __dirname } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code, sig) => {
      clearTimeout(timer)
      const line = out.trim().split('\n').filter(Boolean).pop()
      if (code !== 0 || !line) {
        const why = err.trim().split('\n').filter((l) => !/^\s+at /.test(l)).slice(-3).join(' / ')
        return reject(new Error(`${path.basename(cmd)} ${args.join(' ')} -> ${code ?? sig}: ${why.slice(-300)}`))
      }
      try {
        resolve(JSON.parse(line))
      } catch {
        reject(new Error(`bad output from ${args.join(' ')}: ${line}`))
      }
    })
  })
}

function startServer(pki) {
  return new Promise((resolve, reject) => {
    const child = spawn(SERVER, ['--threads', '1', '--cert', pki.certPath, '--key', pki.keyPath], { stdio: ['ignore', 'pipe', 'inherit'] })
    let buf = ''
    child.stdout.on('data', (d) => {
      buf += d
      const m = /READY (\d+) (\d+)/.exec(buf)
      if (m) resolve({ child, port: Number(m[1]), tlsPort: Number(m[2]) })
    })
    child.on('exit', (c) => reject(new Error(`bench-server exited ${c}`)))
  })
}

function stats(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (!v.length) return null
  const mid = v.length >> 1
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
  return { median, min: v[0], max: v[v.length - 1], n: v.length, runs: values }
}

function dirBytes(p) {
  let total = 0
  const st = fs.lstatSync(p)
  if (st.isSymbolicLink()) return 0
  if (!st.isDirectory()) return st.size
  for (const e of fs.readdirSync(p)) total += dirBytes(path.join(p, e))
  return total
}

/** A production install's bytes: the package and its transitive dependencies. */
function installBytes(nodeModules, name, seen = new Set()) {
  if (seen.has(name)) return 0
  seen.add(name)
  const dir = path.join(nodeModules, name)
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  let total = dirBytes(dir)
  for (const dep of Object.keys(pkg.dependencies || {})) {
    if (fs.existsSync(path.join(nodeModules, dep))) total += installBytes(nodeModules, dep, seen)
  }
  return total
}

function footprint() {
  // clawsock: what `npm pack` puts in the main package plus the platform
  // package's single .node file (the napi-rs layout installs exactly one).
  const pack = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))[0]
  const node = fs.statSync(path.join(ROOT, 'clawsock.linux-x64-gnu.node')).size
  const nm = path.join(__dirname, 'node_modules')
  return {
    clawsock: { bytes: pack.unpackedSize + node, detail: `package ${pack.unpackedSize} B (${pack.entryCount} files) + linux-x64-gnu .node ${node} B` },
    ws: { bytes: installBytes(nm, 'ws'), detail: 'ws alone (no dependencies)' },
    'ws+native': { bytes: installBytes(nm, 'ws') + installBytes(nm, 'bufferutil') + installBytes(nm, 'utf-8-validate'), detail: 'ws + bufferutil + utf-8-validate (+ node-gyp-build)' },
    'gateway-client': { bytes: installBytes(nm, '@openclaw/gateway-client'), detail: '@openclaw/gateway-client@2026.9.1 and its dependencies' },
  }
}

/** Events/s and CPU per event through each gateway client, a process per
 * client per run, the order rotated (events.js). */
async function gatewayEvents(gwUrl, errors) {
  const rows = { clawsock: {}, 'gateway-client': {} }
  if (CANDIDATE && fs.existsSync(path.join(CANDIDATE, 'lib', 'gateway.js'))) rows.candidate = { CLAWSOCK_PATH: path.resolve(CANDIDATE) }
  const ids = Object.keys(rows)
  const raw = Object.fromEntries(ids.map((k) => [k, []]))
  for (let r = 0; r < RUNS; r++) {
    for (const id of ids.slice(r % ids.length).concat(ids.slice(0, r % ids.length))) {
      try {
        raw[id].push(await run(NODE24, ['--expose-gc', 'events.js', id === 'gateway-client' ? id : 'clawsock', gwUrl, JSON.stringify(GW_EVENTS)], { env: rows[id] }))
      } catch (e) {
        errors.push(`gateway-events ${id}: ${e.message}`)
      }
    }
  }
  const out = {}
  for (const [id, list] of Object.entries(raw)) {
    if (list.length) out[id] = { eventsPerSec: stats(list.map((x) => x.eventsPerSec)), cpuUsPerEvent: stats(list.map((x) => x.cpuUsPerEvent)) }
  }
  return out
}

/** This process's open-file limit (Node raised the soft limit to the hard
 * one at start; the clients inherit it), or null if unknown. */
function openFileLimit() {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))
    return m && m[1] !== 'unlimited' ? Number(m[1]) : null
  } catch {
    return null
  }
}

/** The CPU model from /proc/cpuinfo ("model name"), else from os.cpus(). */
function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))
    if (m) return m[1].trim()
  } catch {}
  return os.cpus()[0]?.model || 'unknown CPU'
}

async function main() {
  const started = Date.now()
  fs.mkdirSync(RESULTS, { recursive: true })
  const pki = makeTestPki()
  const srv = await startServer(pki)
  const url = (p, tls) => `${tls ? 'wss' : 'ws'}://127.0.0.1:${tls ? srv.tlsPort : srv.port}${p}`
  const clientIds = Object.keys(CLIENTS)
  const results = {}
  const errors = []
  const loadStart = os.loadavg()[0]
  try {
    for (const sc of SCENARIOS) {
      if (ONLY && !ONLY.includes(sc.id)) continue
      const conns = sc.params.n2 || (sc.scenario === 'burst' ? sc.params.n : 0)
      const fds = openFileLimit()
      if (conns && fds != null && fds < conns + 500) {
        errors.push(`${sc.id}: skipped: it holds ${conns} connections in one process, but the open-file limit is ${fds}; raise it (ulimit -n ${conns + 1000}) and run again`)
        continue
      }
      const raw = {}
      for (const id of [...clientIds, 'rust']) raw[id] = []
      // sc.clients: the rows this scenario measures (a scratch candidate always)
      const ids = sc.clients ? clientIds.filter((id) => sc.clients.includes(id) || id === 'candidate') : clientIds
      for (let r = 0; r < RUNS; r++) {
        const order = ids.slice(r % ids.length).concat(ids.slice(0, r % ids.length))
        for (const id of order) {
          const c = CLIENTS[id]
          const params = { ...sc.params, caPath: sc.tls ? pki.caPath : undefined }
          try {
            raw[id].push(await run(c.node, [...(sc.nodeArgs || []), 'client.js', c.client, sc.scenario, url(sc.path, sc.tls), JSON.stringify(params)],
              { env: { NODE_EXTRA_CA_CERTS: pki.caPath, ...c.env }, timeoutMs: sc.timeoutMs }))
          } catch (e) {
            errors.push(`${sc.id} ${id}: ${e.message}`)
          }
        }
        if (sc.rust) {
          const [what, ...rest] = sc.rust
          try {
            raw.rust.push(await run(RCLIENT, [what, url(sc.path), ...rest.map(String)]))
          } catch (e) {
            errors.push(`${sc.id} rust: ${e.message}`)
          }
        }
      }
      const metrics = Array.isArray(sc.metric) ? sc.metric : [sc.metric]
      results[sc.id] = {}
      for (const [id, list] of Object.entries(raw)) {
        if (!list.length) continue
        results[sc.id][id] = {}
        for (const m of metrics) {
          let vals = list.map((x) => x[m])
          if (id === 'rust' && m === 'msgsPerSec') vals = list.map((x) => x.msgs / x.secs)
          if (id === 'rust' && m === 'mbPerSec') vals = list.map((x) => x.bytes / x.secs / 1e6)
          results[sc.id][id][m] = stats(vals)
        }
      }
      process.stderr.write(`done ${sc.id} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`)
    }

    // (8b) gateway event stream: the bench peer's /gateway route
    if ((!ONLY || ONLY.includes('gateway-events')) && fs.existsSync(path.join(ROOT, 'lib', 'gateway.js'))) {
      results['gateway-events'] = await gatewayEvents(url('/gateway'), errors)
      process.stderr.write(`done gateway-events (${((Date.now() - started) / 1000).toFixed(0)} s)\n`)
    }

    // (7) cold start
    if (!ONLY || ONLY.includes('cold')) {
      const rows = { clawsock: [NODE24, 'clawsock'], ws: [NODE24, 'ws'], undici24: [NODE24, 'undici'], undici22: [NODE22, 'undici'], 'gateway-client': [NODE24, 'gateway-client'] }
      if (fs.existsSync(path.join(ROOT, 'lib', 'gateway.js'))) rows['clawsock-gateway'] = [NODE24, 'clawsock-gateway']
      if (CANDIDATE) rows.candidate = [NODE24, 'clawsock', { CLAWSOCK_PATH: path.resolve(CANDIDATE) }]
      const raw = Object.fromEntries(Object.keys(rows).map((k) => [k, []]))
      for (let r = 0; r < Math.max(RUNS, 5); r++) {
        for (const [id, [bin, name, env]] of Object.entries(rows)) {
          try {
            raw[id].push(await run(bin, ['cold.js', name], { env }))
          } catch (e) {
            errors.push(`cold ${id}: ${e.message}`)
          }
        }
      }
      results.cold = {}
      for (const [id, list] of Object.entries(raw)) {
        if (list.length) results.cold[id] = { requireMs: stats(list.map((x) => x.requireMs)), rssDeltaMB: stats(list.map((x) => x.rssDeltaMB)) }
      }
      process.stderr.write(`done cold\n`)
    }
    if (!ONLY || ONLY.includes('footprint')) results.footprint = footprint()

    // (8) gateway: the real OpenClaw gateway from the test harness
    if ((!ONLY || ONLY.includes('gateway')) && fs.existsSync(path.join(ROOT, 'lib', 'gateway.js')) && !process.env.CLAWSOCK_BENCH_NO_GATEWAY) {
      let gw = null
      try {
        const { startGateway } = require(path.join(ROOT, '__test__', 'harness', 'openclaw.js'))
        gw = await startGateway()
        const rows = { clawsock: {}, 'gateway-client': {} }
        if (CANDIDATE && fs.existsSync(path.join(CANDIDATE, 'lib', 'gateway.js'))) rows.candidate = { CLAWSOCK_PATH: path.resolve(CANDIDATE) }
        // connect rows: a process per client; health rows: this clawsock build
        // and gateway-client in one process, alternating (gateway.js)
        const connect = Object.fromEntries(Object.keys(rows).map((k) => [k, []]))
        const health = Object.fromEntries(Object.keys(rows).map((k) => [k, []]))
        const gp = JSON.stringify(QUICK ? { connects: 5, health: 50 } : { connects: 20, health: 200 })
        for (let r = 0; r < RUNS; r++) {
          for (const [id, env] of Object.entries(rows)) {
            try {
              connect[id].push(await run(NODE24, ['gateway.js', id === 'gateway-client' ? 'gateway-client' : 'clawsock', gw.url, gp], { env: { ...env, GW_TOKEN: gw.token } }))
              if (id === 'gateway-client') continue
              const both = await run(NODE24, ['gateway.js', 'interleaved', gw.url, gp], { env: { ...env, GW_TOKEN: gw.token } })
              health[id].push(both.clawsock)
              if (id === 'clawsock') health['gateway-client'].push(both['gateway-client'])
            } catch (e) {
              errors.push(`gateway ${id}: ${e.message}`)
            }
          }
        }
        results.gateway = {}
        for (const id of Object.keys(rows)) {
          if (!connect[id].length && !health[id].length) continue
          results.gateway[id] = {
            ...Object.fromEntries(['connectP50', 'connectP99'].map((m) => [m, stats(connect[id].map((x) => x[m]))])),
            ...Object.fromEntries(['healthP50', 'healthP99'].map((m) => [m, stats(health[id].map((x) => x[m]))])),
          }
        }
        process.stderr.write(`done gateway\n`)
      } catch (e) {
        errors.push(`gateway: ${e.message}`)
      } finally {
        if (gw) await gw.stop().catch(() => {})
      }
    }
  } finally {
    srv.child.kill()
  }

  const report = {
    date: new Date().toISOString(),
    durationSec: (Date.now() - started) / 1000,
    machine: {
      cpu: cpuModel(), cores: os.cpus().length, memGB: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(),
      loadavg1mStart: loadStart, loadavg1mEnd: os.loadavg()[0],
    },
    node: { primary: version(NODE24), secondary: version(NODE22) },
    clawsockBinary: (() => {
      const st = fs.statSync(path.join(ROOT, 'clawsock.linux-x64-gnu.node'))
      return { bytes: st.size, mtime: st.mtime.toISOString() }
    })(),
    runs: RUNS,
    quick: QUICK,
    clients: Object.fromEntries(Object.entries(CLIENTS).map(([k, v]) => [k, v.label])),
    scenarios: Object.fromEntries(SCENARIOS.map((s) => [s.id, { title: s.title, unit: s.unit, better: s.better, path: s.path, params: s.params, clients: s.clients }])),
    gatewayEvents: GW_EVENTS,
    results,
    gateway: fs.existsSync(path.join(ROOT, 'lib', 'gateway.js')) ? (results.gateway ? 'measured' : 'not measured (see errors)') : 'skipped: lib/gateway.js (clawsock GatewayClient) does not exist yet',
    errors,
  }
  const md = renderMarkdown(report)
  report.targets = md.targets
  fs.writeFileSync(path.join(RESULTS, 'latest.json'), JSON.stringify(report, null, 2) + '\n')
  fs.writeFileSync(path.join(RESULTS, 'latest.md'), md.text)
  fs.writeFileSync(path.join(RESULTS, 'ratios.svg'), renderSvg(md.ratios, report))
  process.stdout.write(md.text)
  if (errors.length) process.stderr.write(`\n${errors.length} error(s):\n${errors.join('\n')}\n`)
}

main().catch((e) => {
  process.stderr.write(String(e.stack || e) + '\n')
  process.exit(1)
})
