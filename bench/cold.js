'use strict'
// Cold start: time and RSS to load a client package in a fresh process.
//   node bench/cold.js <clawsock|ws|undici|gateway-client>
const path = require('node:path')
const name = process.argv[2]
const rss0 = process.memoryUsage().rss
const t0 = process.hrtime.bigint()
async function load() {
  switch (name) {
    case 'clawsock': return require(process.env.CLAWSOCK_PATH || path.resolve(__dirname, '..')).WebSocket
    case 'ws': return require('ws')
    case 'undici': return globalThis.WebSocket // lazy getter: loads Node's bundled undici WebSocket
    case 'gateway-client': return (await import('@openclaw/gateway-client')).GatewayClient
    case 'clawsock-gateway': return require(path.resolve(__dirname, '..')).GatewayClient
    default: throw new Error(`unknown ${name}`)
  }
}
load().then((x) => {
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  const rss1 = process.memoryUsage().rss
  if (!x) throw new Error(`${name}: nothing loaded`)
  process.stdout.write(JSON.stringify({ requireMs: ms, rssDeltaMB: (rss1 - rss0) / 1e6, rssMB: rss1 / 1e6 }) + '\n')
}, (e) => { process.stderr.write(String(e.stack || e) + '\n'); process.exit(2) })
