#!/usr/bin/env node
'use strict'
// Soak (issue #17; not in CI): `npm run soak`. Runs, in one process:
//   1. one connection carrying 1,000,000 messages each way through the Rust
//      echo peer (bench/server, built into bench/target on first use);
//   2. 1,000 connect/close cycles against the same peer;
//   3. 10,000 gateway requests against the fixture gateway (its own process).
// It prints RSS at the start, during and at the end of each phase, and file
// descriptors (/proc/self/fd), threads (/proc/self/status) and live Tokio
// tasks (the addon's debugRuntimeTasks()) and live native sessions
// (debugLiveSessions()) before and after, as one JSON
// document on stdout. It fails (exit 1) when fds, tasks or sessions do not come back to
// their start values, or when a message is lost or reordered.
// Env: SOAK_MESSAGES (default 1e6), SOAK_CYCLES (1000), SOAK_REQUESTS (10000).

const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')

const ROOT = path.resolve(__dirname, '..')
const { WebSocket, GatewayClient } = require(ROOT)
const native = require(path.join(ROOT, 'native.js'))
const { startFixtureGateway } = require(path.join(ROOT, '__test__', 'harness', 'fixture-gateway.js'))

const MESSAGES = Number(process.env.SOAK_MESSAGES || 1_000_000)
const CYCLES = Number(process.env.SOAK_CYCLES || 1000)
const REQUESTS = Number(process.env.SOAK_REQUESTS || 10_000)
const SERVER = path.join(ROOT, 'bench', 'target', 'release', 'bench-server')

function gc() {
  if (global.gc) { global.gc(); global.gc() }
}
function sample(label) {
  gc()
  const status = fs.readFileSync('/proc/self/status', 'utf8')
  return {
    label,
    rssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(1),
    heapMiB: +(v8.getHeapStatistics().used_heap_size / 2 ** 20).toFixed(1),
    fds: fs.readdirSync('/proc/self/fd').length,
    threads: Number(/Threads:\s+(\d+)/.exec(status)[1]),
    tasks: native.debugRuntimeTasks(),
    sessions: native.debugLiveSessions(),
  }
}
const samples = []
const mark = (label) => { const s = sample(label); samples.push(s); console.error(JSON.stringify(s)); return s }
const once = (t, type) => new Promise((resolve) => t.addEventListener(type, resolve, { once: true }))

function buildServer() {
  if (fs.existsSync(SERVER)) return
  console.error('building bench/server (once)…')
  execFileSync('cargo', ['build', '--release', '--quiet', '--manifest-path', 'bench/server/Cargo.toml'], {
    cwd: ROOT, stdio: 'inherit', env: { ...process.env, CARGO_TARGET_DIR: path.join(ROOT, 'bench', 'target') },
  })
}

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(SERVER, ['--threads', '1'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let buf = ''
    child.stdout.on('data', (d) => {
      buf += d
      const m = /READY (\d+)/.exec(buf)
      if (m) resolve({ child, port: Number(m[1]) })
    })
    child.on('exit', (c) => reject(new Error(`bench-server exited ${c}`)))
  })
}

/** 1M messages each way on one connection, WINDOW in flight; checks order. */
async function oneConnection(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`)
  ws.binaryType = 'nodebuffer'
  await once(ws, 'open')
  const WINDOW = 5000
  let sent = 0
  let got = 0
  let bad = 0
  const body = 'x'.repeat(48)
  await new Promise((resolve) => {
    const fill = () => { while (sent < MESSAGES && sent - got < WINDOW) ws.send(`${sent++}:${body}`) }
    ws.onmessage = (e) => {
      if (!e.data.startsWith(`${got}:`)) bad++
      got++
      if (got % (MESSAGES / 4) === 0) mark(`1M: ${got} echoed`)
      if (got === MESSAGES) return resolve()
      if (sent - got < WINDOW / 2) fill()
    }
    fill()
  })
  ws.close()
  const c = await once(ws, 'close')
  return { sent, received: got, outOfOrder: bad, close: [c.code, c.wasClean] }
}

async function cycles(port) {
  let opened = 0
  for (let i = 0; i < CYCLES; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`)
    await once(ws, 'open')
    opened++
    ws.close()
    await once(ws, 'close')
    if ((i + 1) % (CYCLES / 2) === 0) mark(`cycles: ${i + 1}`)
  }
  return { opened }
}

async function gateway() {
  const token = 'soak-token'
  const fx = await startFixtureGateway({ token, tickIntervalMs: 1000 })
  const c = new GatewayClient({ url: fx.url, token })
  await c.ready()
  let ok = 0
  const BATCH = 1000
  for (let i = 0; i < REQUESTS; i += BATCH) {
    const rs = await Promise.all(Array.from({ length: BATCH }, (_, j) => c.request('echo', { n: i + j })))
    rs.forEach((r, j) => { if (r.n === i + j) ok++ })
    if ((i + BATCH) % (REQUESTS / 2) === 0) mark(`gateway: ${i + BATCH} requests`)
  }
  await c.close()
  await fx.stop()
  return { answered: ok }
}

async function settle(baseline) {
  // Connections finish tearing down on the runtime thread after close events: poll (bounded).
  for (let i = 0; i < 100; i++) {
    const s = sample('settle')
    if (s.tasks <= baseline.tasks && s.fds <= baseline.fds && s.sessions <= baseline.sessions) return
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function main() {
  buildServer()
  const server = await startServer()
  // Warm-up: start the runtime and load everything once, so "before" counts its threads and fds.
  const w = new WebSocket(`ws://127.0.0.1:${server.port}/echo`)
  await once(w, 'open')
  w.close()
  await once(w, 'close')
  const before = sample('before')
  await settle(before)
  const start = mark('start')
  const t0 = Date.now()
  const phase1 = await oneConnection(server.port)
  const phase2 = await cycles(server.port)
  const phase3 = await gateway()
  server.child.kill('SIGTERM')
  await settle(start)
  const end = mark('end')
  const rss = samples.map((s) => s.rssMiB)
  const report = {
    seconds: Math.round((Date.now() - t0) / 1000),
    messagesEachWay: phase1,
    connectCloseCycles: phase2,
    gatewayRequests: phase3,
    rssMiB: { start: start.rssMiB, max: Math.max(...rss), end: end.rssMiB, afterFirstPhase: samples.find((s) => s.label.startsWith('cycles'))?.rssMiB },
    fds: { start: start.fds, end: end.fds },
    threads: { start: start.threads, end: end.threads },
    tokioTasks: { start: start.tasks, end: end.tasks },
    liveSessions: { start: start.sessions, end: end.sessions },
    samples,
  }
  console.log(JSON.stringify(report, null, 2))
  const ok = phase1.received === MESSAGES && phase1.outOfOrder === 0 && phase2.opened === CYCLES &&
    phase3.answered === REQUESTS && end.fds <= start.fds && end.tasks <= start.tasks && end.sessions <= start.sessions
  process.exitCode = ok ? 0 : 1
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
