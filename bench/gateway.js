'use strict'
// (8) Gateway: connect-to-hello-ok and `health` round trips against the real
// OpenClaw gateway, clawsock's GatewayClient vs @openclaw/gateway-client.
//
//   GW_TOKEN=... node bench/gateway.js <clawsock|gateway-client> <url> [paramsJSON]
// prints {"connectP50":ms,"connectP99":ms,"healthP50":ms,"healthP99":ms}

const path = require('node:path')
const [name, url, paramsJson] = process.argv.slice(2)
const token = process.env.GW_TOKEN // not on the command line, so it never lands in error messages
const params = { connects: 20, health: 200, warm: 20, ...(paramsJson ? JSON.parse(paramsJson) : {}) }
const now = () => Number(process.hrtime.bigint()) / 1e6
const pct = (s, p) => s[Math.round((s.length - 1) * p)]

async function makeClient() {
  if (name === 'clawsock') {
    const { GatewayClient } = require(process.env.CLAWSOCK_PATH || path.resolve(__dirname, '..'))
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

async function main() {
  // load the package outside the timings
  if (name === 'clawsock') require(process.env.CLAWSOCK_PATH || path.resolve(__dirname, '..'))
  else await import('@openclaw/gateway-client')
  const connects = []
  for (let i = 0; i < params.connects; i++) {
    const t = now()
    const c = await makeClient()
    connects.push(now() - t)
    await c.close()
  }
  const c = await makeClient()
  for (let i = 0; i < params.warm; i++) await c.request('health')
  const rtt = []
  for (let i = 0; i < params.health; i++) {
    const t = now()
    await c.request('health')
    rtt.push(now() - t)
  }
  await c.close()
  connects.sort((a, b) => a - b)
  rtt.sort((a, b) => a - b)
  process.stdout.write(JSON.stringify({ connectP50: pct(connects, 0.5), connectP99: pct(connects, 0.99), healthP50: pct(rtt, 0.5), healthP99: pct(rtt, 0.99) }) + '\n')
  setTimeout(() => process.exit(0), 50).unref()
}
main().catch((e) => { process.stderr.write(String(e.stack || e) + '\n'); process.exit(2) })
