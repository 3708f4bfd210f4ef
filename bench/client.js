'use strict'
// One measurement in a fresh process; prints one JSON line on stdout.
//
//   node bench/client.js <client> <scenario> <url> [paramsJSON]
//
// clients:   clawsock (require of the repo root), ws (ws@8 + bufferutil +
//            utf-8-validate), undici (Node's global WebSocket)
// scenarios: recv (url = /blast?...), rtt (/echo), send (/sink?n=N),
//            connect (/hold, ws:// or wss://), idle (/hold),
//            idle-scale (/hold): RSS at n1 and at n2 idle connections in one
//              process, and the marginal RSS per connection between them,
//            burst (/echo): open n connections (at most `inflight` opening at
//              once) and send one message on each; wall time until every echo
//              is back, and peak RSS
//
// Every client does the same minimal work per message: take the payload as a
// JS value (text as a string, binary as an ArrayBuffer/Buffer), count it and
// add its length. ws hands text over as a Buffer; the driver calls
// toString() because that is what a user needs before JSON.parse.
//
// Binary messages arrive as BINARY_TYPE[client] says (see there), and every
// recv result line names it ("binaryType"), so each receive row states what
// it measured.

const path = require('node:path')
const fs = require('node:fs')

const [clientName, scenario, url, paramsJson] = process.argv.slice(2)
const params = paramsJson ? JSON.parse(paramsJson) : {}
const now = () => Number(process.hrtime.bigint()) / 1e6 // ms

function load(name) {
  switch (name) {
    case 'clawsock': {
      const { WebSocket } = require(process.env.CLAWSOCK_PATH || path.resolve(__dirname, '..'))
      return { kind: 'whatwg', WebSocket, tlsOpts: (ca) => [undefined, { tls: { ca } }] }
    }
    case 'undici': {
      return { kind: 'whatwg', WebSocket: globalThis.WebSocket, tlsOpts: () => [] } // CA via NODE_EXTRA_CA_CERTS
    }
    case 'ws': {
      const WS = require('ws')
      return { kind: 'ws', WebSocket: WS, tlsOpts: (ca) => [{ ca }] }
    }
    default:
      throw new Error(`unknown client ${name}`)
  }
}

/**
 * The binaryType each client receives binary messages as. Both WHATWG
 * clients are set to 'arraybuffer' explicitly, not left at the standard's
 * default 'blob': a Blob costs an allocation and a copy per message and must
 * be read asynchronously, which would measure Blob, not the socket. ws gets
 * its own default, 'nodebuffer' (a Buffer).
 */
const BINARY_TYPE = { clawsock: 'arraybuffer', undici: 'arraybuffer', ws: 'nodebuffer' }

const C = load(clientName)
const ca = params.caPath ? fs.readFileSync(params.caPath, 'utf8') : undefined

/** Opens a socket; `onMessage(data)` gets a string or an ArrayBuffer/Buffer. */
function open(u, { onMessage, onOpen, onClose, onError }) {
  const extra = u.startsWith('wss:') ? C.tlsOpts(ca) : []
  if (C.kind === 'ws') {
    const s = new C.WebSocket(u, ...extra)
    if (onMessage) s.on('message', (data, isBinary) => onMessage(isBinary ? data : data.toString()))
    if (onOpen) s.on('open', onOpen)
    s.on('close', () => onClose && onClose())
    s.on('error', (e) => (onError ? onError(e) : fail(e)))
    return { send: (d) => s.send(d), close: () => s.close(), raw: s }
  }
  const s = new C.WebSocket(u, ...extra)
  s.binaryType = BINARY_TYPE[clientName]
  if (onMessage) s.addEventListener('message', (ev) => onMessage(ev.data))
  if (onOpen) s.addEventListener('open', onOpen)
  s.addEventListener('close', () => onClose && onClose())
  s.addEventListener('error', (e) => (onError ? onError(e) : fail(e.error || e.message || e)))
  return { send: (d) => s.send(d), close: () => s.close(), raw: s }
}

let finished = false
function fail(e) {
  if (finished) return
  process.stderr.write(`${clientName} ${scenario}: ${e && e.stack ? e.stack : e}\n`)
  process.exit(2)
}

function done(result) {
  finished = true
  process.stdout.write(JSON.stringify(result) + '\n')
  // give the socket a moment to close cleanly, then leave
  setTimeout(() => process.exit(0), 50).unref()
}

function pct(sorted, p) {
  return sorted[Math.round((sorted.length - 1) * p)]
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const openOne = (u = url) =>
  new Promise((resolve) => {
    const s = open(u, { onOpen: () => resolve(s) })
  })

/** Opens connections until `socks` holds `n`, `conc` at a time. */
async function openUpTo(socks, n, conc = 50) {
  while (socks.length < n) {
    const batch = []
    for (let j = socks.length; j < Math.min(n, socks.length + conc); j++) batch.push(openOne())
    socks.push(...(await Promise.all(batch)))
  }
}

/** Warm-up: open and close one connection, so lazy parts (runtime threads,
 * TLS, parsers) load outside the measurement; then gc. */
async function warmUp() {
  const w = await openOne()
  await new Promise((r) => {
    w.raw.addEventListener ? w.raw.addEventListener('close', r) : w.raw.on('close', r)
    w.close()
  })
  await sleep(200)
  gc2()
}

const gc2 = () => global.gc && (global.gc(), global.gc())

/** RSS after a settle time and two full GCs (needs --expose-gc). */
async function settledRss(ms) {
  await sleep(ms)
  gc2()
  await sleep(100)
  gc2()
  return process.memoryUsage().rss
}

/** Peak RSS of this process in bytes: VmHWM, else resourceUsage().maxRSS. */
function peakRss() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))
    if (m) return Number(m[1]) * 1024
  } catch {}
  return process.resourceUsage().maxRSS * 1024
}

const scenarios = {
  recv() {
    const n = params.n
    let count = 0
    let bytes = 0
    let t0 = 0
    const s = open(url, {
      onOpen() {
        t0 = now()
        s.send('go')
      },
      onMessage(d) {
        count++
        bytes += typeof d === 'string' ? d.length : d.byteLength
        if (count === n) {
          const secs = (now() - t0) / 1000
          done({ msgs: count, bytes, secs, msgsPerSec: count / secs, mbPerSec: bytes / secs / 1e6, binaryType: BINARY_TYPE[clientName] })
        }
      },
      onClose() {
        if (count < n) fail(new Error(`closed after ${count} of ${n} messages`))
      },
    })
  },

  rtt() {
    const n = params.n
    const warm = params.warm ?? 1000
    const payload = 'x'.repeat(params.size)
    const samples = new Float64Array(n)
    let i = 0
    let t = 0
    let cpu0 = process.cpuUsage()
    const s = open(url, {
      onOpen() {
        t = now()
        s.send(payload)
      },
      onMessage() {
        const dt = now() - t
        if (i >= warm) samples[i - warm] = dt * 1000
        i++
        if (i === warm) cpu0 = process.cpuUsage()
        if (i === n + warm) {
          // The whole process's CPU per round trip (clawsock's Tokio thread,
          // which stays awake briefly after traffic, counts too).
          const cpu = process.cpuUsage(cpu0)
          samples.sort()
          done({ p50: pct(samples, 0.5), p99: pct(samples, 0.99), n, cpuUsPerRtt: (cpu.user + cpu.system) / n })
          s.close()
          return
        }
        t = now()
        s.send(payload)
      },
    })
  },

  send() {
    const n = params.n
    const payload = params.payload || 'x'.repeat(params.size)
    let t0 = 0
    const s = open(url, {
      onOpen() {
        t0 = now()
        for (let i = 0; i < n; i++) s.send(payload)
      },
      onMessage() {
        const secs = (now() - t0) / 1000
        done({ msgs: n, secs, msgsPerSec: n / secs })
        s.close()
      },
    })
  },

  async connect() {
    const n = params.n
    const times = []
    for (let i = 0; i < n; i++) {
      await new Promise((resolve) => {
        const t = now()
        const s = open(url, {
          onOpen() {
            times.push(now() - t)
            s.close()
          },
          onClose: resolve,
        })
      })
    }
    times.sort((a, b) => a - b)
    done({ p50: pct(times, 0.5), p99: pct(times, 0.99), n })
  },

  async idle() {
    const n = params.n
    await warmUp()
    const rss0 = process.memoryUsage().rss
    const socks = []
    await openUpTo(socks, n, params.concurrency || 50)
    await sleep(params.settleMs ?? 1000)
    gc2()
    const rss1 = process.memoryUsage().rss
    // V8's background sweeping after gc() would otherwise be counted as idle
    // CPU (about 0.5 ms, which is all there is in 3 s of idle).
    await sleep(params.quietMs ?? 500)
    const c0 = process.cpuUsage()
    const t0 = now()
    await sleep(params.idleMs ?? 3000)
    const c1 = process.cpuUsage(c0)
    const wall = now() - t0
    const cpuMs = (c1.user + c1.system) / 1000
    done({
      conns: socks.length,
      rssBaseMB: rss0 / 1e6,
      rssMB: rss1 / 1e6,
      rssPerConnKB: (rss1 - rss0) / socks.length / 1024,
      idleCpuPct: (cpuMs / wall) * 100,
      idleCpuMs: cpuMs,
    })
    for (const s of socks) s.close()
  },

  // 'idle-scale': one process opens n1 idle connections, settles, GCs and
  // measures; then opens more up to n2 and measures again. The marginal cost
  // (RSS at n2 - RSS at n1) / (n2 - n1) is what decides how many
  // connections a process can hold; the averages include fixed costs.
  async 'idle-scale'() {
    const { n1, n2 } = params
    const conc = params.concurrency || 50
    const settle = params.settleMs ?? 1000
    await warmUp()
    const rss0 = process.memoryUsage().rss
    const socks = []
    await openUpTo(socks, n1, conc)
    const rss1 = await settledRss(settle)
    const t = now()
    await openUpTo(socks, n2, conc)
    const openSecs = (now() - t) / 1000
    const rss2 = await settledRss(settle)
    done({
      n1, n2, conns: socks.length,
      rssBaseMB: rss0 / 1e6, rssAtN1MB: rss1 / 1e6, rssAtN2MB: rss2 / 1e6,
      rssPerConnKBAtN1: (rss1 - rss0) / n1 / 1024,
      rssPerConnKB: (rss2 - rss0) / n2 / 1024,
      marginalKB: (rss2 - rss1) / (n2 - n1) / 1024,
      openSecs,
    })
    for (const s of socks) s.close()
  },

  // 'burst': open n connections to /echo, at most `inflight` of them not yet
  // answered at any time; each sends one message when open; done when every
  // echo is back (the connections stay open until then).
  async burst() {
    const n = params.n
    const inflight = params.inflight || 200
    const payload = 'x'.repeat(params.size ?? 100)
    await warmUp()
    const rss0 = process.memoryUsage().rss
    const socks = []
    let started = 0
    let answered = 0
    const t0 = now()
    await new Promise((resolve) => {
      const start = () => {
        if (started >= n) return
        started++
        let got = false
        const s = open(url, {
          onOpen: () => s.send(payload),
          onMessage: () => {
            if (got) return
            got = true
            if (++answered === n) resolve()
            else start()
          },
          onClose: () => {
            if (!got) fail(new Error(`a connection closed before its echo (${answered} of ${n} answered)`))
          },
        })
        socks.push(s)
      }
      for (let i = 0; i < Math.min(inflight, n); i++) start()
    })
    const secs = (now() - t0) / 1000
    done({
      conns: n, inflight, secs, connsPerSec: n / secs,
      peakRssMB: peakRss() / 1e6, rssBaseMB: rss0 / 1e6, rssMB: process.memoryUsage().rss / 1e6,
    })
    for (const s of socks) s.close()
  },
}

if (!scenarios[scenario]) fail(new Error(`unknown scenario ${scenario}`))
Promise.resolve(scenarios[scenario]()).catch(fail)
