'use strict'
// (8) Gateway: connect-to-hello-ok and `health` round trips against the real
// OpenClaw gateway, clawsock's GatewayClient vs @openclaw/gateway-client.
//
//   GW_TOKEN=... node bench/gateway.js <clawsock|gateway-client> <url> [paramsJSON]
//     `connects` sequential connects to hello-ok;
//     prints {"connectP50":ms,"connectP99":ms}
//   GW_TOKEN=... node bench/gateway.js interleaved <url> [paramsJSON]
//     one connection per client in this process, then `health` pairs of
//     calls, one per client, the first of each pair alternating: both see the
//     gateway in the same state, whose time per call varies more from minute
//     to minute than the clients differ;
//     prints {"clawsock":{"healthP50":ms,"healthP99":ms},"gateway-client":{...}}

const path = require('node:path')
const [name, url, paramsJson] = process.argv.slice(2)
const token = process.env.GW_TOKEN // not on the command line, so it never lands in error messages
const params = { connects: 20, health: 200, warm: 20, ...(paramsJson ? JSON.parse(paramsJson) : {}) }
const now = () => Number(process.hrtime.bigint()) / 1e6
const pct = (s, p) => s[Math.round((s.length - 1) * p)]

const loadClawsock = () => require(process.env.CLAWSOCK_PATH || path.resolve(__dirname, '..'))

async function makeClient(which) {
  if (which === 'clawsock') {
    const { GatewayClient } = loadClawsock()
    const c = new GatewayClient({ url, token, reconnect: false })
    await c.ready()
    return { request: (m) => c.request(m), close: () => c.close() }
  }
  const { GatewayClient } = await import('@openclaw/gateway-client')
  let c
  await new Promise((resolve, reject) => {
    c = new GatewayClient({ url, token, onHelloOk: resolve, onConnectError: reject })
    c.start()
  })
  return { request: (m) => c.request(m), close: () => c.stopAndWait() }
}

async function connects() {
  // load the package outside the timings
  if (name === 'clawsock') loadClawsock()
  else await import('@openclaw/gateway-client')
  const times = []
  for (let i = 0; i < params.connects; i++) {
    const t = now()
    const c = await makeClient(name)
    times.push(now() - t)
    await c.close()
  }
  times.sort((a, b) => a - b)
  return { connectP50: pct(times, 0.5), connectP99: pct(times, 0.99) }
}

async function interleaved() {
  const clients = { clawsock: await makeClient('clawsock'), 'gateway-client': await makeClient('gateway-client') }
  const ids = Object.keys(clients)
  for (let i = 0; i < params.warm; i++) for (const id of ids) await clients[id].request('health')
  const times = Object.fromEntries(ids.map((id) => [id, []]))
  for (let i = 0; i < params.health; i++) {
    for (const id of i % 2 ? ids : [...ids].reverse()) {
      const t = now()
      await clients[id].request('health')
      times[id].push(now() - t)
    }
  }
  for (const id of ids) await clients[id].close()
  return Object.fromEntries(ids.map((id) => {
    const s = times[id].sort((a, b) => a - b)
    return [id, { healthP50: pct(s, 0.5), healthP99: pct(s, 0.99) }]
  }))
}

async function main() {
  const out = name === 'interleaved' ? await interleaved() : await connects()
  process.stdout.write(JSON.stringify(out) + '\n')
  setTimeout(() => process.exit(0), 50).unref()
}
main().catch((e) => { process.stderr.write(String(e.stack || e) + '\n'); process.exit(2) })
