'use strict'
// (8b) Gateway event stream: how fast a gateway client takes in a stream of
// chat-sized events, clawsock's GatewayClient vs @openclaw/gateway-client.
//
//   node bench/events.js <clawsock|gateway-client> <url> [paramsJSON]
//     url: the bench peer's /gateway route (bench/server/src/gateway.rs);
//     params: {n: events measured, warm: events before, size: bytes of JSON
//     per event (~300, a chat delta)}
//     prints {"eventsPerSec":..,"cpuUsPerEvent":..,"secs":..,"n":..}
//
// One connection; after hello-ok the client asks the peer (`bench.stream`)
// for `warm` events, then for `n` more, and counts them as its `event`
// listener sees them. The peer formats every frame in Rust and writes it
// straight to the socket, so the client is the bottleneck. Each event has an
// increasing `seq`, so both clients run their seq checks (a gap or a repeat
// fails the run). CPU is process.cpuUsage() across the measured stream: the
// whole process, so clawsock's Tokio thread counts too.

const path = require('node:path')
const [name, url, paramsJson] = process.argv.slice(2)
const params = { n: 200000, warm: 20000, size: 300, ...(paramsJson ? JSON.parse(paramsJson) : {}) }
const now = () => Number(process.hrtime.bigint()) / 1e6

/** A connected client: `stream(n)` resolves when n more events arrived. */
async function connect() {
  let want = 0
  let got = 0
  let lastSeq = 0
  let wake = null
  let problem = null
  const onEvent = (e) => {
    if (e.event !== 'chat') return
    if (e.seq !== lastSeq + 1 || e.payload.seq !== e.seq) problem ??= new Error(`event seq ${e.seq} after ${lastSeq}`)
    lastSeq = e.seq
    if (++got === want && wake) wake()
  }
  const onGap = (g) => (problem ??= new Error(`the client reported a seq gap: ${JSON.stringify(g)}`))
  let request
  let close
  if (name === 'clawsock') {
    const { GatewayClient } = require(process.env.CLAWSOCK_PATH || path.resolve(__dirname, '..'))
    const c = new GatewayClient({ url, token: 'bench', reconnect: false })
    c.on('event', onEvent)
    c.on('gap', onGap)
    await c.ready()
    request = (m, p) => c.request(m, p)
    close = () => c.close()
  } else if (name === 'gateway-client') {
    const { GatewayClient } = await import('@openclaw/gateway-client')
    let c
    await new Promise((resolve, reject) => {
      c = new GatewayClient({ url, token: 'bench', onHelloOk: resolve, onConnectError: reject, onEvent, onGap })
      c.start()
    })
    request = (m, p) => c.request(m, p)
    close = () => c.stopAndWait()
  } else {
    throw new Error(`unknown client ${name} (clawsock or gateway-client)`)
  }
  return {
    async stream(n) {
      want = got + n
      const arrived = new Promise((resolve) => (wake = resolve))
      await request('bench.stream', { n, size: params.size })
      await arrived
      if (problem) throw problem
    },
    close,
  }
}

async function main() {
  const c = await connect()
  await c.stream(params.warm)
  global.gc && global.gc()
  const c0 = process.cpuUsage()
  const t0 = now()
  await c.stream(params.n)
  const secs = (now() - t0) / 1000
  const cpu = process.cpuUsage(c0)
  const cpuUs = cpu.user + cpu.system
  await c.close()
  process.stdout.write(JSON.stringify({
    n: params.n, size: params.size, secs, eventsPerSec: params.n / secs, cpuUsPerEvent: cpuUs / params.n, cpuPct: (cpuUs / 1e4 / secs),
  }) + '\n')
  setTimeout(() => process.exit(0), 50).unref()
}
main().catch((e) => {
  process.stderr.write(`${name}: ${e && e.stack ? e.stack : e}\n`)
  process.exit(2)
})
