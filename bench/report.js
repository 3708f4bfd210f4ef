'use strict'
// Markdown table, ratios and target checks for a bench report (see run.js).

const COLS = ['clawsock', 'ws', 'undici24', 'undici22', 'rust']
const HEAD = ['clawsock', 'ws', 'Node 24 WebSocket', 'Node 22 WebSocket', 'raw Rust (limit)']

const METRIC_LABEL = {
  msgsPerSec: 'msg/s', mbPerSec: 'MB/s', p50: 'p50', p99: 'p99', rssPerConnKB: 'RSS KiB/conn', idleCpuPct: 'idle CPU %',
  marginalKB: 'marginal KiB/conn', secs: 'wall s', peakRssMB: 'peak RSS MB', cpuUsPerRtt: 'CPU µs per round trip',
}
const LOWER_IS_BETTER = new Set(['p50', 'p99', 'rssPerConnKB', 'idleCpuPct', 'requireMs', 'rssDeltaMB', 'bytes', 'marginalKB', 'secs', 'peakRssMB', 'cpuUsPerEvent', 'cpuUsPerRtt'])
/** The issue's size budget for the linux-x64-gnu .node (bytes). */
const BINARY_BUDGET = 2.5e6

// [scenario, metric, versus, minimum advantage, label]
const TARGETS = [
  ['recv-small', 'msgsPerSec', 'ws', 1.5, 'small-message receive ≥ 1.5× ws'],
  ['recv-large-bin', 'mbPerSec', 'ws', 2, 'large binary receive ≥ 2× ws'],
  ['recv-large-text', 'mbPerSec', 'ws', 2, 'large text receive ≥ 2× ws'],
  ['rtt', 'p50', 'ws', 1, 'echo RTT p50 no slower than ws'],
  ['rtt', 'p99', 'ws', 1, 'echo RTT p99 no slower than ws'],
  ['idle', 'rssPerConnKB', 'ws', 2, 'RSS per idle connection (1,000) ≤ ½ ws'],
  ['idle-10k', 'marginalKB', 'ws', 2, 'marginal RSS per idle connection (1,000 → 10,000) ≤ ½ ws'],
]

function fmt(v) {
  if (v == null || !Number.isFinite(v)) return '–'
  const a = Math.abs(v)
  if (a >= 10000) return Math.round(v).toLocaleString('en-US')
  if (a >= 100) return v.toFixed(0)
  if (a >= 10) return v.toFixed(1)
  if (a >= 1) return v.toFixed(2)
  return v.toFixed(3)
}

const cell = (s) => (s ? `${fmt(s.median)} (${fmt(s.min)}–${fmt(s.max)})` : '–')

/** clawsock's advantage over `other` (> 1: clawsock better), from medians. */
function advantage(metric, claw, other) {
  if (!claw || !other || !claw.median || !other.median) return null
  return LOWER_IS_BETTER.has(metric) ? other.median / claw.median : claw.median / other.median
}

function renderMarkdown(report) {
  const r = report.results
  const withCand = Boolean(report.clients.candidate)
  const COLS_ = withCand ? [...COLS, 'candidate'] : COLS
  const HEAD_ = withCand ? [...HEAD, 'clawsock + fixes (scratch)'] : HEAD
  const L = []
  const ratios = [] // for the chart
  L.push(`# clawsock benchmarks — ${report.date.slice(0, 10)}`)
  L.push('')
  L.push(`**CPU: ${report.machine.cpu} × ${report.machine.cores} cores** (\`/proc/cpuinfo\` model name; the ratios below hold for this CPU only).`)
  L.push('')
  L.push(`Machine: ${report.machine.memGB} GiB, Linux ${report.machine.kernel}; ` +
    `load average ${report.machine.loadavg1mStart.toFixed(2)} at start, ${report.machine.loadavg1mEnd.toFixed(2)} at end. ` +
    `Node ${report.node.primary} for every client (plus ${report.node.secondary} for the Node 22 row). ` +
    `${report.runs} runs per scenario, each a fresh process; cells are median (min–max). Run took ${Math.round(report.durationSec)} s.` +
    (report.quick ? ' **Quick mode: smaller sizes, not for publishing.**' : ''))
  L.push('')
  L.push('"× ws" / "× Node 24" are clawsock\'s advantage from the medians: above 1 means clawsock is better (faster, or less memory/time).')
  L.push('')
  L.push(`| scenario | metric | ${HEAD_.join(' | ')} | × ws | × Node 24 |${withCand ? ' fixes × ws |' : ''}`)
  L.push(`|---|---|${HEAD_.map(() => '---').join('|')}|---|---|${withCand ? '---|' : ''}`)
  for (const [id, sc] of Object.entries(report.scenarios)) {
    const res = r[id]
    if (!res) continue
    const metrics = Object.keys(res.clawsock || res.ws || {})
    for (const m of metrics) {
      const unit = m === 'p50' || m === 'p99' ? `${m} ${sc.unit}` : METRIC_LABEL[m] || m
      const aWs = advantage(m, res.clawsock?.[m], res.ws?.[m])
      const aU = advantage(m, res.clawsock?.[m], res.undici24?.[m])
      const aC = withCand ? advantage(m, res.candidate?.[m], res.ws?.[m]) : null
      L.push(`| ${sc.title} | ${unit} | ${COLS_.map((c) => cell(res[c]?.[m])).join(' | ')} | ${aWs ? fmt(aWs) + '×' : '–'} | ${aU ? fmt(aU) + '×' : '–'} |${withCand ? ` ${aC ? fmt(aC) + '×' : '–'} |` : ''}`)
      if (aWs) ratios.push({ label: `${sc.title.replace(/^\(\d+[a-z]?\) /, '')} ${m === 'msgsPerSec' || m === 'mbPerSec' ? '' : METRIC_LABEL[m]}`.trim(), vsWs: aWs, vsNode: aU })
    }
  }
  const scale = [r['idle-10k'] && report.scenarios['idle-10k'], r['burst-10k'] && report.scenarios['burst-10k']]
  if (scale.some(Boolean)) {
    L.push('')
    const notes = []
    if (scale[0]) {
      const { n1, n2 } = scale[0].params
      notes.push(`(5b): one process per client opens ${n1.toLocaleString('en-US')} idle connections, settles and GCs, measures RSS, opens more up to ${n2.toLocaleString('en-US')} and measures again; "marginal" = (RSS at ${n2.toLocaleString('en-US')} − RSS at ${n1.toLocaleString('en-US')}) / ${(n2 - n1).toLocaleString('en-US')}, "RSS KiB/conn" = the average over all ${n2.toLocaleString('en-US')} (growth from the warmed-up process).`)
    }
    if (scale[1]) {
      const p = scale[1].params
      notes.push(`(5c): ${p.n.toLocaleString('en-US')} connections to the echo route, at most ${p.inflight} unanswered at a time, each sends one ${p.size} B message when open; wall time until every echo is back; peak RSS is the process's VmHWM (Node's own ~50 MB included).`)
    }
    L.push(notes.join(' '))
  }
  const ge = r['gateway-events']
  if (ge) {
    const p = report.gatewayEvents || {}
    L.push('')
    L.push(`**(8b) Gateway event stream** — the bench peer's \`/gateway\` route (Rust; challenge, hello-ok, then \`chat\` event frames of ${p.size} B JSON with \`seq\` 1, 2, …, written straight to the socket), ${Number(p.n).toLocaleString('en-US')} events per run after ${Number(p.warm).toLocaleString('en-US')} warm-up, a process per client, seq checks on in both clients. CPU is the whole client process (\`process.cpuUsage()\`, so clawsock's Tokio thread counts).`)
    L.push('')
    const gcols = Object.keys(ge)
    L.push(`| metric | ${gcols.join(' | ')} | clawsock advantage |`)
    L.push(`|---|${gcols.map(() => '---').join('|')}|---|`)
    for (const [m, label] of [['eventsPerSec', 'events/s'], ['cpuUsPerEvent', 'CPU µs/event']]) {
      const a = advantage(m, ge.clawsock?.[m], ge['gateway-client']?.[m])
      L.push(`| ${label} | ${gcols.map((c) => cell(ge[c]?.[m])).join(' | ')} | ${a ? fmt(a) + '×' : '–'} |`)
      if (a) ratios.push({ label: `gateway event stream ${label}`, vsGw: a })
    }
  }
  if (r.cold) {
    L.push('')
    L.push('**(7) Cold start** — time and RSS growth to load the package in a fresh Node 24 process (Node\'s global WebSocket: first access of `globalThis.WebSocket`).')
    L.push('')
    L.push('| package | load ms | RSS added MB |')
    L.push('|---|---|---|')
    for (const [id, v] of Object.entries(r.cold)) L.push(`| ${id} | ${cell(v.requireMs)} | ${cell(v.rssDeltaMB)} |`)
    const cw = advantage('requireMs', r.cold.clawsock?.requireMs, r.cold.ws?.requireMs)
    if (cw) ratios.push({ label: 'cold start (load time)', vsWs: cw, vsNode: advantage('requireMs', r.cold.clawsock?.requireMs, r.cold.undici24?.requireMs) })
  }
  if (r.footprint) {
    const f = r.footprint
    L.push('')
    L.push('**(9) Installed footprint** (production install, bytes on disk, apparent size)')
    L.push('')
    L.push('| install | bytes | MB | what |')
    L.push('|---|---|---|---|')
    for (const [id, v] of Object.entries(f)) L.push(`| ${id} | ${v.bytes.toLocaleString('en-US')} | ${(v.bytes / 1e6).toFixed(2)} | ${v.detail} |`)
    const fpRatio = f['gateway-client'].bytes / f.clawsock.bytes
    L.push('')
    L.push(`@openclaw/gateway-client ÷ clawsock = **${fpRatio.toFixed(2)}×**; ws ÷ clawsock = ${(f.ws.bytes / f.clawsock.bytes).toFixed(3)}×.`)
  }
  L.push('')
  if (r.gateway) {
    L.push('**(8) Gateway** — real OpenClaw gateway (test harness `startGateway()`), token auth, no device identity; per run: 20 sequential connects to hello-ok in a process per client; then, in one process with a connection per client, 200 `health` calls per client in alternating pairs (both clients see the gateway in the same state). Milliseconds.')
    L.push('')
    const gcols = Object.keys(r.gateway)
    L.push(`| metric | ${gcols.join(' | ')} | clawsock advantage |`)
    L.push(`|---|${gcols.map(() => '---').join('|')}|---|`)
    for (const m of ['connectP50', 'connectP99', 'healthP50', 'healthP99']) {
      const a = advantage('p50', r.gateway.clawsock?.[m], r.gateway['gateway-client']?.[m])
      L.push(`| ${m} | ${gcols.map((c) => cell(r.gateway[c]?.[m])).join(' | ')} | ${a ? fmt(a) + '×' : '–'} |`)
    }
    // The health runs are paired (one process, same gateway state): say how
    // often clawsock was the faster of the pair.
    const paired = ['healthP50', 'healthP99'].map((m) => {
      const x = r.gateway.clawsock?.[m]?.runs
      const y = r.gateway['gateway-client']?.[m]?.runs
      if (!x || !y || x.length !== y.length) return null
      return `${m}: clawsock faster in ${x.filter((v, i) => v < y[i]).length} of ${x.length} runs`
    }).filter(Boolean)
    if (paired.length) {
      L.push('')
      L.push(`Paired health runs (both clients in one process): ${paired.join('; ')}.`)
    }
  } else {
    L.push(`**(8) Gateway** (connect to hello-ok, \`health\` RTT vs @openclaw/gateway-client): ${report.gateway}.`)
  }

  const targets = []
  for (const [sc, m, vs, min, label] of TARGETS) {
    const a = advantage(m, r[sc]?.clawsock?.[m], r[sc]?.[vs]?.[m])
    const c = withCand ? advantage(m, r[sc]?.candidate?.[m], r[sc]?.[vs]?.[m]) : null
    targets.push({ label, value: a, min, met: a == null ? null : a >= min, candidate: c })
  }
  if (report.clawsockBinary?.bytes) {
    const b = report.clawsockBinary.bytes
    targets.push({ label: `linux-x64-gnu .node ≤ ${BINARY_BUDGET / 1e6} MB`, shown: `${(b / 1e6).toFixed(2)} MB`, value: BINARY_BUDGET / b, min: 1, met: b <= BINARY_BUDGET })
  }
  {
    const m = 'eventsPerSec'
    const a = advantage(m, r['gateway-events']?.clawsock?.[m], r['gateway-events']?.['gateway-client']?.[m])
    const c = withCand ? advantage(m, r['gateway-events']?.candidate?.[m], r['gateway-events']?.['gateway-client']?.[m]) : null
    targets.push({ label: 'gateway event stream ≥ 2× @openclaw/gateway-client (events/s)', value: a, min: 2, met: a == null ? null : a >= 2, candidate: c })
  }
  for (const [m, label] of [['connectP50', 'gateway connect-to-hello p50 no slower than @openclaw/gateway-client'], ['healthP50', 'gateway health RTT p50 no slower'], ['healthP99', 'gateway health RTT p99 no slower']]) {
    const a = advantage('p50', r.gateway?.clawsock?.[m], r.gateway?.['gateway-client']?.[m])
    const c = withCand ? advantage('p50', r.gateway?.candidate?.[m], r.gateway?.['gateway-client']?.[m]) : null
    targets.push({ label, value: a, min: 1, met: a == null ? null : a >= 1, candidate: c })
  }
  L.push('')
  L.push('## Targets (same run)')
  L.push('')
  L.push(`| target | measured | met |${withCand ? ' with proposed fixes (scratch) |' : ''}`)
  L.push(`|---|---|---|${withCand ? '---|' : ''}`)
  for (const t of targets) {
    const c = withCand ? ` ${t.candidate == null ? '–' : `${fmt(t.candidate)}× (${t.candidate >= t.min ? 'met' : 'not met'})`} |` : ''
    L.push(`| ${t.label} | ${t.value == null ? 'not measured' : t.shown || fmt(t.value) + '×'} | ${t.met == null ? '–' : t.met ? 'yes' : '**no**'} |${c}`)
  }
  if (report.errors.length) {
    L.push('')
    L.push(`Errors (${report.errors.length}): ` + report.errors.map((e) => '`' + e.slice(0, 300).replace(/`/g, "'").replace(/\s*\n\s*/g, ' ') + '`').join('; '))
  }
  L.push('')
  return { text: L.join('\n'), targets, ratios }
}

module.exports = { renderMarkdown, fmt }
