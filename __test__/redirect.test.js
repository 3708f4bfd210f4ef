'use strict'
// Redirects of the upgrade request (followRedirects / maxRedirects), against
// real servers on loopback: /r/<status>?to=<url> answers the upgrade with
// that status and Location; /loop redirects to itself; /ws is a ws server that records the request
// headers. "Another host" is another name or address for loopback:
// 127.0.0.1, localhost and 127.0.0.2 (each with its own listener).

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')
const https = require('node:https')
const { WebSocketServer } = require('ws')
const { WebSocket } = require('../index.js')
const { runProcess } = require('./helpers.js')
const { makeTestPki } = require('./harness/tls.js')

async function server(host, port = 0, tls = null) {
  const srv = tls ? https.createServer(tls) : http.createServer()
  const wss = new WebSocketServer({ noServer: true })
  const log = [] // { path, headers }
  srv.on('upgrade', (req, socket, head) => {
    const u = new URL(req.url, 'http://x')
    log.push({ path: u.pathname, headers: req.headers })
    if (u.pathname === '/loop') {
      socket.end(`HTTP/1.1 302 Found\r\nLocation: ${req.url}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
      return
    }
    const m = /^\/r\/(\d+)$/.exec(u.pathname)
    if (m) {
      socket.end(`HTTP/1.1 ${m[1]} Redirect\r\nLocation: ${u.searchParams.get('to')}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('error', () => {}))
  })
  await new Promise((resolve) => srv.listen(port, host, resolve))
  return { port: srv.address().port, log, close: () => { srv.closeAllConnections(); srv.close() } }
}

let a, b, secure, pki

test.before(async () => {
  pki = makeTestPki()
  a = await server('127.0.0.1')
  b = await server('127.0.0.2', a.port) // same port, another address
  secure = await server('127.0.0.1', 0, { cert: pki.certPem, key: pki.keyPem })
})
test.after(() => [a, b, secure].forEach((s) => s.close()))

function outcome(url, options) {
  const ws = new WebSocket(url, options)
  return new Promise((resolve) => {
    ws.onopen = () => {
      ws.close()
      resolve({ opened: true, url: ws.url })
    }
    ws.onerror = (e) => resolve({ opened: false, message: e.message, code: e.error.code, status: e.error.status })
  })
}

const A = () => `ws://127.0.0.1:${a.port}`
const redirect = (status, to, base = A()) => `${base}/r/${status}?to=${encodeURIComponent(to)}`

test('301, 302, 307 and 308 are followed with followRedirects and refused without, naming the Location', async () => {
  for (const status of [301, 302, 307, 308]) {
    const url = redirect(status, `${A()}/ws`)
    const refused = await outcome(url)
    assert.equal(refused.opened, false)
    assert.equal(refused.code, 'CLAWSOCK_HTTP_STATUS')
    assert.equal(refused.status, status)
    assert.ok(refused.message.includes(`"${A()}/ws"`) && /followRedirects: true/.test(refused.message), refused.message)
    a.log.length = 0
    const followed = await outcome(url, { followRedirects: true })
    assert.equal(followed.opened, true, followed.message)
    assert.deepEqual(a.log.map((r) => r.path), [`/r/${status}`, '/ws'])
  }
  // A relative Location and an http: one resolve against the current URL.
  a.log.length = 0
  assert.equal((await outcome(redirect(302, '/ws'), { followRedirects: true })).opened, true)
  assert.equal((await outcome(redirect(307, `http://127.0.0.1:${a.port}/ws`), { followRedirects: true })).opened, true)
  assert.deepEqual(a.log.map((r) => r.path), ['/r/302', '/ws', '/r/307', '/ws'])
})

test('a redirect never downgrades wss: to ws:', async () => {
  a.log.length = 0
  const r = await outcome(redirect(302, `${A()}/ws`, `wss://127.0.0.1:${secure.port}`), { followRedirects: true, tls: { ca: pki.caPem } })
  assert.equal(r.opened, false)
  assert.match(r.message, /never downgrades a redirect from wss: to ws:/)
  assert.equal(a.log.length, 0)
  // https: means wss:, which is fine.
  const up = await outcome(redirect(301, `https://127.0.0.1:${secure.port}/ws`), { followRedirects: true, tls: { ca: pki.caPem } })
  assert.equal(up.opened, true, up.message)
})

test('Authorization and Cookie go to the same host only', async () => {
  const headers = { Authorization: 'Bearer tok-123', Cookie: 'sid=abc', 'X-Keep': 'kept' }
  const cases = [
    [`${A()}/ws`, a, true],
    [`ws://localhost:${a.port}/ws`, a, false],
    [`ws://127.0.0.2:${a.port}/ws`, b, false],
    [`ws://127.0.0.1:${secure.port}/ws`, secure, false], // another port
  ]
  for (const [to, target, same] of cases) {
    a.log.length = b.log.length = secure.log.length = 0
    const url = to.includes(`:${secure.port}`) ? to.replace('ws://', 'wss://') : to
    const r = await outcome(redirect(302, url), { followRedirects: true, headers, tls: { ca: pki.caPem } })
    assert.equal(r.opened, true, r.message)
    const final = target.log.find((x) => x.path === '/ws').headers
    assert.equal(final['x-keep'], 'kept')
    assert.equal(final.authorization, same ? 'Bearer tok-123' : undefined, to)
    assert.equal(final.cookie, same ? 'sid=abc' : undefined, to)
  }
  // Once another host was visited, a hop back does not bring them back.
  a.log.length = b.log.length = 0
  const back = redirect(302, `${A()}/ws`, `ws://127.0.0.2:${a.port}`)
  assert.equal((await outcome(redirect(302, back), { followRedirects: true, headers })).opened, true)
  assert.equal(a.log.find((x) => x.path === '/ws').headers.authorization, undefined)
})

test('maxRedirects holds', async () => {
  for (const max of [0, 3, 10]) {
    a.log.length = 0
    const r = await outcome(`${A()}/loop`, { followRedirects: true, ...(max === 10 ? {} : { maxRedirects: max }) })
    assert.equal(r.opened, false)
    assert.match(r.message, new RegExp(`too many redirects: .*maxRedirects: ${max}`))
    assert.equal(a.log.length, max + 1, `maxRedirects ${max}: ${a.log.length} requests`)
  }
})

test('clawsock probe --follow-redirects reports each hop', async () => {
  const url = redirect(301, redirect(308, `ws://127.0.0.2:${a.port}/ws`).replace('ws://', 'http://'))
  const r = await runProcess(['bin/clawsock.js', 'probe', url, '--follow-redirects', '--json'])
  assert.equal(r.code, 0, r.stdout + r.stderr)
  const report = JSON.parse(r.stdout)
  assert.equal(report.ok, true)
  assert.deepEqual(report.redirects.map((h) => [h.hop, h.status]), [[1, 301], [2, 308]])
  assert.equal(report.redirects[1].location, `ws://127.0.0.2:${a.port}/ws`)
  const refused = await runProcess(['bin/clawsock.js', 'probe', url, '--json'])
  const f = JSON.parse(refused.stdout)
  assert.equal(f.failure.status, 301)
  assert.equal(f.steps.upgrade.status, 301)
})
