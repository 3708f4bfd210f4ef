'use strict'
// A child process that opens one clawsock WebSocket and prints what happened
// as one JSON line, so a test can give it its own environment (the proxy
// environment is read when a connection starts) or its own network
// namespace. Input: the CLAWSOCK_TEST_DIAL environment variable, JSON
//   { url, options, serve?: { hosts: ['127.0.0.1', '::1'], port } }
// With `serve`, it first starts a ws server on each host (same port) and
// reports the remote addresses the server saw ("which address won").
// Output: { opened, error?, code?, status?, serverSaw: [] }

const http = require('node:http')
const { WebSocketServer } = require('ws')
const { WebSocket } = require('../../index.js')

const spec = JSON.parse(process.env.CLAWSOCK_TEST_DIAL)

async function serve({ hosts, port }) {
  const seen = []
  const servers = []
  for (const host of hosts) {
    const server = http.createServer()
    const wss = new WebSocketServer({ server })
    wss.on('connection', (ws, req) => {
      seen.push(req.socket.remoteAddress)
      ws.on('error', () => {})
    })
    await new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, resolve)
    })
    servers.push(server)
  }
  return { seen, close: () => servers.forEach((s) => { s.closeAllConnections(); s.close() }) }
}

async function main() {
  const served = spec.serve ? await serve(spec.serve) : null
  const ws = new WebSocket(spec.url, spec.options || {})
  const result = await new Promise((resolve) => {
    ws.onopen = () => {
      ws.close(1000)
      resolve({ opened: true })
    }
    ws.onerror = (e) => resolve({ opened: false, error: e.message, code: e.error && e.error.code, status: e.error && e.error.status })
  })
  await new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve()
    else ws.addEventListener('close', resolve)
  })
  if (served) {
    result.serverSaw = served.seen
    served.close()
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ opened: false, thrown: err.message })}\n`)
})
