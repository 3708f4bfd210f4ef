'use strict'
// Runs the conformance cases against a client: clawsock (this package) or
// `ws` (the control). Each client echoes every message it gets (text as
// text, binary as binary) and reports its JS error and close events.
//
//   node __test__/conformance/run.js --table       both clients, the table (markdown)
//   node __test__/conformance/run.js clawsock [-v] one client, every case (-v: with PASS)
//   node __test__/conformance/run.js ws 6.4        only cases whose id starts with 6.4

const { cases } = require('./cases.js')
const { startServer } = require('./server.js')
const { judge } = require('./judge.js')

const CLIENTS = {
  clawsock(url) {
    const { WebSocket } = require('../../index.js')
    const ws = new WebSocket(url)
    ws.binaryType = 'nodebuffer'
    return wire(ws, (e) => echo(() => ws.send(e.data)))
  },
  ws(url) {
    const WS = require('ws')
    const ws = new WS(url)
    ws.on('message', (data, isBinary) => echo(() => ws.send(data, { binary: isBinary })))
    return wire(ws)
  },
}

/** A send after the connection failed may throw; the case's verdict already says so. */
function echo(send) {
  try {
    send()
  } catch {}
}

/** The JS view of a client: its error messages and its close event. */
function wire(ws, onMessage) {
  const seen = { errors: [], close: null }
  if (onMessage) ws.addEventListener('message', onMessage)
  ws.addEventListener('error', (e) => seen.errors.push(String(e.message || (e.error && e.error.message) || 'error')))
  const closed = new Promise((resolve) =>
    ws.addEventListener('close', (e) => {
      seen.close = { code: e.code, reason: e.reason, wasClean: e.wasClean }
      resolve(seen)
    }),
  )
  return closed
}

/**
 * Runs the cases (ids starting with `filter`) against `client` ('clawsock',
 * 'ws', or a function(url) that starts a client and resolves with what its
 * JS saw, as `wire` does); resolves with the results.
 */
async function runSuite(client, { filter = '' } = {}) {
  const chosen = cases.filter((c) => c.id === filter || c.id.startsWith(filter ? `${filter}.` : '') || !filter)
  const server = await startServer(new Map(chosen.map((c) => [c.id, c])))
  const results = []
  try {
    for (const c of chosen) {
      const served = server.outcome(c.id)
      const start = typeof client === 'function' ? client : CLIENTS[client]
      const closed = start(`ws://127.0.0.1:${server.port}/case/${c.id}`)
      const p = await served
      // The server's side is over; a client without a close event 5 s
      // later never sends one (the verdict says "no close event").
      let bound
      const late = new Promise((resolve) => (bound = setTimeout(resolve, 5000, { errors: [], close: null })))
      const js = await Promise.race([closed, late])
      clearTimeout(bound)
      results.push({ id: c.id, section: c.section, desc: c.desc, ...judge(c, p, js), js: js.close })
    }
  } finally {
    await server.close()
  }
  return results
}

const SECTIONS = {
  1: 'Framing (lengths, chopped delivery, 101 in pieces)',
  2: 'Ping / pong',
  3: 'Reserved bits',
  4: 'Reserved opcodes',
  5: 'Fragmentation',
  6: 'UTF-8',
  7: 'Close handshake, codes, reasons',
  9: 'Large and fragmented messages',
}

/** Counts per section: { section: { cases, PASS, 'NON-STRICT', FAIL } }. */
function tally(results) {
  const out = {}
  for (const r of results) {
    const t = (out[r.section] ||= { cases: 0, PASS: 0, 'NON-STRICT': 0, FAIL: 0 })
    t.cases++
    t[r.result]++
  }
  return out
}

/** The markdown table: cases per section, pass / non-strict / fail per client. */
function table(byClient) {
  const names = Object.keys(byClient)
  const tallies = Object.fromEntries(names.map((n) => [n, tally(byClient[n])]))
  const cell = (t) => `${t.PASS} / ${t['NON-STRICT']} / ${t.FAIL}`
  const lines = [
    `| section | cases | ${names.map((n) => `${n} (pass / non-strict / fail)`).join(' | ')} |`,
    `| --- | ---: | ${names.map(() => '---:').join(' | ')} |`,
  ]
  const total = Object.fromEntries(names.map((n) => [n, { cases: 0, PASS: 0, 'NON-STRICT': 0, FAIL: 0 }]))
  for (const s of Object.keys(SECTIONS)) {
    const first = tallies[names[0]][s]
    if (!first) continue
    lines.push(`| ${s}. ${SECTIONS[s]} | ${first.cases} | ${names.map((n) => cell(tallies[n][s])).join(' | ')} |`)
    for (const n of names) for (const k of Object.keys(total[n])) total[n][k] += tallies[n][s][k]
  }
  lines.push(`| **all** | **${total[names[0]].cases}** | ${names.map((n) => `**${cell(total[n])}**`).join(' | ')} |`)
  return lines.join('\n')
}

async function main(argv) {
  if (argv.includes('--table')) {
    const byClient = {}
    for (const client of ['clawsock', 'ws']) byClient[client] = await runSuite(client)
    console.log(table(byClient))
    for (const [client, results] of Object.entries(byClient)) {
      for (const r of results) if (r.result !== 'PASS') console.log(`${client} ${r.id} ${r.result}: ${r.desc}: ${r.why}`)
    }
    return
  }
  const [client = 'clawsock', filter = ''] = argv.filter((a) => !a.startsWith('-'))
  if (!CLIENTS[client]) throw new Error(`unknown client ${JSON.stringify(client)}: use clawsock or ws`)
  const results = await runSuite(client, { filter })
  for (const r of results) {
    if (r.result !== 'PASS' || argv.includes('-v')) console.log(`${r.id} ${r.result}: ${r.desc}${r.why ? `: ${r.why}` : ''} | JS close ${JSON.stringify(r.js)}`)
  }
  console.log(table({ [client]: results }))
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e)
    process.exit(1)
  })
}

module.exports = { runSuite, tally, table, wire }
