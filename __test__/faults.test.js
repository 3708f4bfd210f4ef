'use strict'
// Fault suite (issue #17): real peers on loopback, real faults (a SIGKILLed or
// SIGSTOPped server process, TCP resets, a dribbled 101, exhausted file
// descriptors, bad certificates), and for each case the exact outcome: the
// event sequence, the close code and reason, and which messages were
// delivered, handed back or rejected. Waits are on events or on observable
// state (the harness's bounded waitFor), never on time; node:test timeouts are
// only a safety net.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { Worker } = require('node:worker_threads')

const { WebSocket, ReconnectingWebSocket, GatewayClient } = require('..')
const { ROOT, deadPort, once, record, runProcess } = require('./helpers')
const { startFaultServer, frame, closePayload } = require('./harness/fault')
const { startFixtureGateway, waitFor } = require('./harness/fixture-gateway')
const { makeTestPki } = require('./harness/tls')
const { acceptKey } = require('./peers/fault-server')

const T = { timeout: 60_000 }
const TOKEN = 'faults-token-2c9d'

/** The fault server in its own process (so it can be SIGKILLed or SIGSTOPped). */
async function faultProcess(port = 0) {
  const child = spawn(process.execPath, [path.join(__dirname, 'peers', 'fault-server.js'), '--port', String(port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const line = await new Promise((resolve, reject) => {
    let buf = ''
    child.stdout.on('data', (d) => {
      buf += d
      const m = /FAULT_READY port=(\d+)/.exec(buf)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`fault server exited ${code}`)))
  })
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal || code)))
  return {
    port: line,
    url: (p) => `ws://127.0.0.1:${line}${p}`,
    signal: (s) => child.kill(s),
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}

/** A raw TCP server: `onRequest(socket, key)` once the upgrade request is read. */
async function rawServer(onRequest) {
  const sockets = new Set()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buf = ''
    socket.on('data', function onData(d) {
      buf += d.toString('latin1')
      if (!buf.includes('\r\n\r\n')) return
      socket.off('data', onData)
      const key = /sec-websocket-key: *(\S+)/i.exec(buf)[1]
      onRequest(socket, key, server)
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    server,
    port: server.address().port,
    url: (p = '/') => `ws://127.0.0.1:${server.address().port}${p}`,
    stop: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(resolve) }),
  }
}

const upgradeHead = (key) =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`

const summary = (log) => log.map((e) => (e.type === 'message' ? `message:${e.data}` : e.type === 'close' ? `close:${e.code}:${e.reason}:${e.wasClean}` : e.type))

test('server process SIGKILLed mid-stream: every echo before the kill delivered in order, then error and 1006', T, async () => {
  const srv = await faultProcess()
  try {
    const ws = new WebSocket(srv.url('/echo'))
    const { log, done } = record(ws)
    await once(ws, 'open')
    let n = 0
    ws.addEventListener('message', () => {
      if (++n === 100) srv.signal('SIGKILL')
    })
    for (let i = 0; i < 100; i++) ws.send(`m${i}`)
    await done
    const s = summary(log)
    assert.deepEqual(s.slice(0, 101), ['open', ...Array.from({ length: 100 }, (_, i) => `message:m${i}`)])
    assert.deepEqual(s.slice(101, 102), ['error'])
    const err = log[101]
    assert.equal(err.error.code, 'CLAWSOCK_CONNECTION', err.message)
    assert.match(err.message, /without a close frame|went away|reset/)
    const close = log.at(-1)
    assert.deepEqual([close.code, close.wasClean], [1006, false])
    assert.equal(close.reason, err.message)
    assert.equal(s.length, 103)
    assert.equal(await srv.exited, 'SIGKILL')
  } finally {
    await srv.stop()
  }
})

test('half-open connection (server SIGSTOPped): ping/pong finds it with 1006 "pong timeout"; after SIGCONT a new connection works', T, async () => {
  const srv = await faultProcess()
  try {
    const ws = new WebSocket(srv.url('/echo'), [], { pingInterval: 100, pongTimeout: 300 })
    const { log, done } = record(ws)
    await once(ws, 'open')
    ws.send('before')
    await once(ws, 'message')
    srv.signal('SIGSTOP')
    ws.send('lost-in-the-frozen-server')
    await done
    srv.signal('SIGCONT')
    const s = summary(log)
    assert.deepEqual(s.slice(0, 2), ['open', 'message:before'])
    assert.equal(log.at(-1).code, 1006)
    assert.equal(log.at(-1).reason, 'pong timeout')
    assert.equal(log.at(-1).wasClean, false)
    const again = new WebSocket(srv.url('/echo'))
    await once(again, 'open')
    again.send('after')
    assert.equal((await once(again, 'message')).data, 'after')
    again.close()
    await once(again, 'close')
  } finally {
    await srv.stop()
  }
})

test('half-open gateway (fixture SIGSTOPped): the tick watchdog closes 4000 "tick timeout"; after SIGCONT it is ready again', T, async () => {
  const fx = await startFixtureGateway({ token: TOKEN, tickIntervalMs: 100 })
  const c = new GatewayClient({ url: fx.url, token: TOKEN, reconnect: { initialDelay: 50, maxDelay: 100 } })
  try {
    await c.ready()
    assert.deepEqual(await c.request('echo', { a: 1 }), { a: 1 })
    const disconnected = new Promise((resolve) => c.once('disconnect', resolve))
    await fx.set({ answer: false })
    const pending = c.request('echo', { b: 2 }).then(() => 'resolved', (e) => `${e.code}: ${e.message}`)
    await fx.waitFor(async () => (await fx.frames()).some((f) => f.frame && f.frame.params && f.frame.params.b === 2), { what: 'the request at the server' })
    process.kill(fx.pid, 'SIGSTOP')
    const d = await disconnected
    assert.deepEqual([d.code, d.reason], [4000, 'tick timeout'])
    assert.equal(await pending, 'CLOSED: gateway closed (4000): tick timeout')
    const readyAgain = new Promise((resolve) => c.once('hello', resolve))
    process.kill(fx.pid, 'SIGCONT')
    await readyAgain
    await fx.set({ answer: true })
    assert.deepEqual(await c.request('echo', { c: 3 }), { c: 3 })
  } finally {
    try { process.kill(fx.pid, 'SIGCONT') } catch {}
    await c.close()
    await fx.stop()
  }
})

test('TCP reset right after the close frame (old uvicorn): the messages and the close code survive', T, async () => {
  const srv = await rawServer((socket, key) => {
    socket.write(Buffer.concat([
      Buffer.from(upgradeHead(key), 'latin1'),
      frame(1, Buffer.from('one')), frame(1, Buffer.from('two')), frame(1, Buffer.from('three')),
      frame(8, closePayload(4001, 'Replaced')),
    ]), () => socket.resetAndDestroy())
  })
  try {
    const ws = new WebSocket(srv.url())
    const { log, done } = record(ws)
    await done
    assert.deepEqual(summary(log).slice(0, 4), ['open', 'message:one', 'message:two', 'message:three'])
    const close = log.at(-1)
    assert.deepEqual([close.code, close.reason], [4001, 'Replaced'])
    assert.ok(!log.some((e) => e.type === 'error'), summary(log).join(' '))
  } finally {
    await srv.stop()
  }
})

test('server restart during the handshake: the attempt fails with a named error, the next one opens', T, async (t) => {
  let upgrades = 0
  let fault
  const srv = await rawServer((socket, key, server) => {
    upgrades++
    // "Restart": stop listening, drop this half-done handshake, come back as a real server.
    server.close()
    socket.destroy()
    startFaultServer({ port: srv.port }).then((f) => { fault = f })
  })
  const r = new ReconnectingWebSocket(srv.url('/echo'), [], { reconnect: { initialDelay: 20, maxDelay: 50, jitter: 'none' } })
  const seen = []
  const messages = []
  for (const t of ['open', 'error', 'close', 'reconnecting', 'terminal']) r.addEventListener(t, (e) => { seen.push(t === 'error' ? `error:${e.error?.code}` : t); if (t === 'error') messages.push(e.message) })
  try {
    await once(r, 'open')
    assert.equal(upgrades, 1)
    assert.equal(seen[0], 'error:CLAWSOCK_HANDSHAKE', messages[0])
    t.diagnostic(messages[0])
    assert.ok(seen.includes('reconnecting'))
    assert.equal(seen.at(-1), 'open')
    r.send('after restart')
    assert.equal((await once(r, 'message')).data, 'after restart')
  } finally {
    r.close()
    await srv.stop()
    await fault?.stop()
  }
})

test('HTTP 5xx on the upgrade: error with the status, close 1006; ReconnectingWebSocket keeps trying', T, async () => {
  const fault = await startFaultServer()
  try {
    for (const status of [500, 502, 503]) {
      const ws = new WebSocket(fault.url(`/reject/${status}`))
      const { log, done } = record(ws)
      await done
      assert.deepEqual(summary(log).map((s) => s.split(':')[0]), ['error', 'close'])
      assert.equal(log[0].error.code, 'CLAWSOCK_HTTP_STATUS')
      assert.equal(log[0].error.status, status)
      assert.match(log[0].message, new RegExp(`^unexpected HTTP ${status}`))
      assert.equal(log[1].code, 1006)
    }
    const r = new ReconnectingWebSocket(fault.url('/reject/503'), [], { reconnect: { initialDelay: 10, maxDelay: 20 } })
    const attempts = []
    r.addEventListener('reconnecting', (e) => attempts.push(e.attempt))
    await waitFor(() => attempts.length >= 3, { what: 'three reconnects' })
    assert.equal(r.terminalReason, null)
    r.close()
  } finally {
    await fault.stop()
  }
})

test('slowloris handshake (the 101 dribbled a byte at a time): handshakeTimeout fires with a clear error', T, async () => {
  const timers = new Set()
  const srv = await rawServer((socket, key) => {
    const bytes = Buffer.from(upgradeHead(key), 'latin1')
    let i = 0
    const t = setInterval(() => {
      if (socket.destroyed || i >= bytes.length) return clearInterval(t)
      socket.write(bytes.subarray(i, ++i))
    }, 20)
    timers.add(t)
  })
  try {
    const ws = new WebSocket(srv.url('/slow?token=dribble-secret'), [], { handshakeTimeout: 300 })
    const { log, done } = record(ws)
    await done
    assert.deepEqual(summary(log).map((s) => s.split(':')[0]), ['error', 'close'])
    assert.equal(log[0].error.code, 'CLAWSOCK_TIMEOUT')
    assert.equal(log[0].message, `handshake timeout: no WebSocket upgrade from ${srv.url('/slow')}?<redacted> within 300 ms (handshakeTimeout)`)
    assert.equal(log[1].code, 1006)
  } finally {
    for (const t of timers) clearInterval(t)
    await srv.stop()
  }
})

test('malformed frames on the gateway connection: invalid JSON, unknown types, res for ids never sent are reported, not fatal', T, async () => {
  const fx = await startFixtureGateway({ token: TOKEN, tickIntervalMs: 200 })
  const c = new GatewayClient({ url: fx.url, token: TOKEN })
  try {
    await c.ready()
    const errors = []
    const disconnects = []
    c.on('error', (e) => errors.push(e.message))
    c.on('disconnect', (d) => disconnects.push(d))
    const bad = ['{not json', '[1,2]', '{"type":"bogus","x":1}', '{"type":"res","id":"never-sent-1","ok":true,"payload":{}}', '"just a string"']
    assert.deepEqual(await c.request('raw', { texts: bad }), { sent: bad.length })
    // The connection is still usable, and the bad frames (which arrived before this answer) were reported.
    assert.deepEqual(await c.request('echo', { still: 'ok' }), { still: 'ok' })
    assert.deepEqual(disconnects, [])
    assert.equal(c.state, 'ready')
    assert.equal(errors.length, bad.length, errors.join('\n'))
    assert.equal(errors.filter((m) => m.startsWith('unreadable frame from the gateway')).length, 3, errors.join('\n'))
    assert.ok(errors.includes('a frame of unknown type "bogus" from the gateway; ignored (expected res or event)'), errors.join('\n'))
    assert.match(errors.join('\n'), /answers id "never-sent-1", which no request is waiting for/)
  } finally {
    await c.close()
    await fx.stop()
  }
})

test('maxPayload: a message of exactly maxPayload bytes is delivered; one byte more closes 1009 naming both sizes', T, async () => {
  const fault = await startFaultServer()
  try {
    const at = new WebSocket(fault.url('/big?bytes=65536'), [], { maxPayload: 65536 })
    const m = await once(at, 'message')
    assert.equal(m.data.length, 65536)
    at.close()
    await once(at, 'close')
    const over = new WebSocket(fault.url('/big?bytes=65537'), [], { maxPayload: 65536 })
    const { log, done } = record(over)
    await done
    assert.ok(!log.some((e) => e.type === 'message'))
    const close = log.at(-1)
    assert.equal(close.code, 1009)
    assert.match(close.reason, /65537/)
    assert.match(close.reason, /65536/)
  } finally {
    await fault.stop()
  }
})

test('10,000 pending gateway requests when the connection drops: all reject with the close reason', T, async () => {
  const fx = await startFixtureGateway({ token: TOKEN, tickIntervalMs: 1000 })
  const c = new GatewayClient({ url: fx.url, token: TOKEN, reconnect: { initialDelay: 50 } })
  try {
    await c.ready()
    await fx.set({ answer: false })
    const N = 10_000
    const outcomes = Array.from({ length: N }, (_, i) => c.request('echo', { i }).then(() => 'resolved', (e) => `${e.code}|${e.message}`))
    await fx.waitFor(async () => (await fx.frames()).filter((f) => f.frame && f.frame.method === 'echo').length === N, { what: 'all requests at the server' })
    await fx.closeAll(4200, 'fault test drop')
    const results = await Promise.all(outcomes)
    const counts = {}
    for (const r of results) counts[r] = (counts[r] || 0) + 1
    assert.deepEqual(Object.keys(counts).length, 1, JSON.stringify(counts).slice(0, 500))
    const [only] = Object.keys(counts)
    assert.equal(counts[only], N)
    assert.match(only, /^CLOSED\|.*4200.*fault test drop/)
  } finally {
    await c.close()
    await fx.stop()
  }
})

test('a consumer that stops reading while the server floods: backpressure bounds what is read; nothing lost once it resumes', T, async (t) => {
  // The client runs in a worker whose JS thread blocks (Atomics.wait) after the first message;
  // the server here counts what the kernel accepted from it (sent minus its own backlog).
  const { WebSocketServer } = require('ws')
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await once(wss, 'listening')
  const N = 100_000
  const SIZE = 1024
  const payload = (i) => `${i}:`.padEnd(SIZE, 'x')
  let serverWs
  wss.on('connection', (ws) => {
    serverWs = ws
    for (let i = 0; i < N; i++) ws.send(payload(i))
  })
  const sab = new SharedArrayBuffer(4)
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads')
    const { WebSocket } = require(${JSON.stringify(ROOT)})
    const flag = new Int32Array(workerData.sab)
    const ws = new WebSocket(workerData.url)
    let n = 0, inOrder = true
    ws.onmessage = (e) => {
      if (n === 0) { parentPort.postMessage('stalled'); Atomics.wait(flag, 0, 0) }
      if (!e.data.startsWith(n + ':') || e.data.length !== ${SIZE}) inOrder = false
      if (++n === ${N}) { parentPort.postMessage({ n, inOrder }); ws.close() }
    }
    ws.onerror = (e) => parentPort.postMessage({ error: e.message })
  `, { eval: true, workerData: { sab, url: `ws://127.0.0.1:${wss.address().port}/` } })
  try {
    await new Promise((resolve) => worker.once('message', resolve))
    const total = N * (SIZE + 4)
    const accepted = () => total - serverWs._socket.writableLength - serverWs._sender._bufferedBytes
    // Wait until the reader is parked: what the kernel accepted stops growing.
    let last = -1
    let still = 0
    await waitFor(() => {
      const a = accepted()
      still = a === last ? still + 1 : 0
      last = a
      return still >= 10
    }, { what: 'the flood to stall' })
    const rmem = Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_rmem', 'utf8').trim().split(/\s+/)[2])
    const wmem = Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/)[2])
    // What the client can hold while JS does not read: the batch JS took before it stopped (at most
    // one inbox's worth), the refilled inbox (high-water mark: src/transport/options.rs), and the
    // kernel's socket buffers at their largest.
    const inboxHighWater = 16 * 1024 * 1024
    const bound = 2 * inboxHighWater + rmem + wmem
    t.diagnostic(`accepted while stalled: ${last} bytes of ${total}; bound ${bound}`)
    assert.ok(bound < total, 'the flood is larger than the bound')
    assert.ok(last <= bound, `accepted ${last} bytes while stalled (bound ${bound})`)
    const result = new Promise((resolve) => worker.on('message', resolve))
    Atomics.store(new Int32Array(sab), 0, 1)
    Atomics.notify(new Int32Array(sab), 0)
    assert.deepEqual(await result, { n: N, inOrder: true })
  } finally {
    await worker.terminate()
    wss.close()
  }
})

test('close() in every state: connecting, open, reconnect-wait, gateway paused', T, async () => {
  const fault = await startFaultServer()
  const dead = await deadPort()
  const fx = await startFixtureGateway({ token: TOKEN })
  try {
    // connecting
    const c1 = new WebSocket(fault.url('/hang'))
    const r1 = record(c1)
    c1.close()
    await r1.done
    assert.deepEqual(summary(r1.log).map((s) => s.split(':').slice(0, 2).join(':')), ['error', 'close:1006'])
    // open
    const c2 = new WebSocket(fault.url('/echo'))
    const r2 = record(c2)
    await once(c2, 'open')
    c2.close(1000, 'bye')
    await r2.done
    assert.deepEqual(summary(r2.log), ['open', 'close:1000:bye:true'])
    // reconnect-wait: no more upgrades after close()
    const r = new ReconnectingWebSocket(`ws://127.0.0.1:${dead}/`, [], { reconnect: { initialDelay: 60_000, maxDelay: 60_000 } })
    await once(r, 'reconnecting')
    assert.equal(r.state, 'reconnecting')
    const after = []
    for (const t of ['open', 'close', 'error', 'reconnecting', 'terminal']) r.addEventListener(t, (e) => after.push(t))
    const terminal = once(r, 'terminal')
    r.close()
    assert.equal((await terminal).kind, 'user-closed')
    assert.deepEqual(after, ['terminal']) // no connection, so no close event; no further attempt
    assert.equal(r.state, 'closed')
    // gateway paused (wrong token)
    const g = new GatewayClient({ url: fx.url, token: 'wrong' })
    await new Promise((resolve) => g.once('paused', resolve))
    await g.close()
    assert.equal(g.state, 'closed')
    await assert.rejects(g.request('health'), (e) => ['STOPPED', 'CLOSED'].includes(e.code))
  } finally {
    await fault.stop()
    await fx.stop()
  }
})

test('worker termination with clients in every state (connecting, open, reconnect-wait, paused) crashes nothing', T, async () => {
  const fault = await startFaultServer()
  const dead = await deadPort()
  const fx = await startFixtureGateway({ token: TOKEN })
  try {
    const worker = new Worker(`
      const { parentPort, workerData: w } = require('node:worker_threads')
      const { WebSocket, ReconnectingWebSocket, GatewayClient } = require(${JSON.stringify(ROOT)})
      const connecting = new WebSocket(w.hang)
      const open = new WebSocket(w.echo)
      const waiting = new ReconnectingWebSocket(w.dead, [], { reconnect: { initialDelay: 60000, maxDelay: 60000 } })
      const paused = new GatewayClient({ url: w.gw, token: 'wrong' })
      let n = 0
      const one = () => { if (++n === 3) parentPort.postMessage({ connecting: connecting.readyState, open: open.readyState, waiting: waiting.state, paused: paused.state }) }
      open.onopen = one
      waiting.addEventListener('reconnecting', one, { once: true })
      paused.once('paused', one)
    `, { eval: true, workerData: { hang: fault.url('/hang'), echo: fault.url('/echo'), dead: `ws://127.0.0.1:${dead}/`, gw: fx.url } })
    const states = await new Promise((resolve) => worker.once('message', resolve))
    assert.deepEqual(states, { connecting: 0, open: 1, waiting: 'reconnecting', paused: 'paused' })
    assert.equal(await worker.terminate(), 1)
    // The open connection is torn down (the server sees the socket close) and this process still works.
    const closed = await waitFor(() => fault.events.find((e) => e.path === '/echo' && e.type === 'close'), { what: 'the open socket closed' })
    // Teardown aborts: the socket is dropped without a closing handshake (as
    // ws's terminate() does), so the server sees 1006, not a close frame.
    assert.equal(closed.code, 1006)
    const ws = new WebSocket(fault.url('/echo'))
    await once(ws, 'open')
    ws.close()
    await once(ws, 'close')
  } finally {
    await fault.stop()
    await fx.stop()
  }
})

test('certificates: expired, wrong host name, self-signed are clear errors; final for ReconnectingWebSocket', T, async () => {
  const pki = makeTestPki({ cache: false })
  const { execFileSync } = require('node:child_process')
  const d = pki.dir
  const ossl = (...a) => execFileSync('openssl', a, { cwd: d, stdio: 'pipe' })
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  // A self-signed leaf for 127.0.0.1 (trusted by nobody).
  ossl('req', '-x509', ...ec, '-keyout', 'self.key', '-out', 'self.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1')
  // A leaf signed by the trusted CA that expired in 2000 (`openssl ca` takes explicit dates).
  ossl('req', '-new', ...ec, '-keyout', 'old.key', '-out', 'old.csr', '-subj', '/CN=127.0.0.1')
  fs.writeFileSync(path.join(d, 'index.txt'), '')
  fs.writeFileSync(path.join(d, 'serial'), '1000\n')
  fs.writeFileSync(path.join(d, 'ca.cnf'), [
    '[ca]', 'default_ca=d', '[d]', 'dir=.', 'database=index.txt', 'new_certs_dir=.', 'serial=serial', 'default_md=sha256',
    'policy=p', 'x509_extensions=e', '[p]', 'commonName=supplied', '[e]', 'basicConstraints=CA:FALSE',
    'extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1', '',
  ].join('\n'))
  ossl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'old.csr', '-out', 'old.pem',
    '-startdate', '20000101000000Z', '-enddate', '20000102000000Z')
  const read = (f) => fs.readFileSync(path.join(d, f), 'utf8')
  const servers = []
  try {
    const cases = [
      ['self-signed', await startFaultServer({ tls: { cert: read('self.pem'), key: read('self.key') } }), {}, /self-signed certificate made with `openssl req -x509`/],
      ['expired', await startFaultServer({ tls: { cert: read('old.pem'), key: read('old.key') } }), { tls: { ca: pki.caPem } }, /expired/],
      ['wrong host', await startFaultServer({ tls: { cert: pki.certPem, key: pki.keyPem } }), { tls: { ca: pki.caPem, servername: 'wrong.example' } }, /wrong\.example|not valid for|name/],
    ]
    servers.push(...cases.map((c) => c[1]))
    for (const [what, srv, opts, re] of cases) {
      const url = srv.url('/echo').replace('ws://', 'wss://')
      const ws = new WebSocket(url, [], opts)
      const { log, done } = record(ws)
      await done
      assert.deepEqual(summary(log).map((s) => s.split(':')[0]), ['error', 'close'], what)
      assert.equal(log[0].error.code, 'CLAWSOCK_TLS', what)
      assert.match(log[0].message, re, what)
      const r = new ReconnectingWebSocket(url, [], opts)
      const term = await once(r, 'terminal')
      assert.match(term.message || String(r.terminalReason?.message ?? r.terminalReason), /TLS|certificate/, what)
    }
  } finally {
    for (const s of servers) await s.stop()
    pki.cleanup()
  }
})

test('no Origin and no proxy header unless asked (also with HTTP_PROXY set but not enabled)', T, async () => {
  const fault = await startFaultServer()
  try {
    const r = await runProcess(['-e', `
      const { WebSocket } = require('./index.js')
      const ws = new WebSocket(${JSON.stringify(fault.url('/headers'))})
      ws.onmessage = (e) => { console.log(e.data); ws.close() }
    `], { env: { HTTP_PROXY: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9', NODE_USE_ENV_PROXY: null } })
    assert.equal(r.code, 0, r.stderr)
    const h = JSON.parse(r.stdout)
    for (const name of ['origin', 'proxy-authorization', 'proxy-connection', 'forwarded', 'x-forwarded-for', 'via']) assert.equal(h[name], undefined, name)
    const ws = new WebSocket(fault.url('/headers'), [], { origin: 'https://asked.example' })
    const m = await once(ws, 'message')
    assert.equal(JSON.parse(m.data).origin, 'https://asked.example')
    ws.close()
  } finally {
    await fault.stop()
  }
})

test('file descriptors exhausted (ulimit -n): clear errors, no crash', T, async () => {
  const fault = await startFaultServer()
  try {
    const script = `
      const { WebSocket } = require('./index.js')
      const N = 200, errors = new Map(); let opened = 0, done = 0
      for (let i = 0; i < N; i++) {
        const ws = new WebSocket(${JSON.stringify(fault.url('/echo'))})
        ws.onopen = () => { opened++; ws.close() }
        ws.onerror = (e) => errors.set(e.error && e.error.code, e.message)
        ws.onclose = () => { if (++done === N) console.log(JSON.stringify({ opened, errors: [...errors] })) }
      }
    `
    const r = await runProcess(['-c', `ulimit -n 64 && exec "${process.execPath}" -e "$0"`, script], { execPath: '/bin/bash' })
    assert.equal(r.signal, null, r.stderr)
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout)
    assert.ok(out.opened > 0 && out.opened < 200, r.stdout)
    assert.deepEqual(out.errors.map(([code]) => code), ['CLAWSOCK_TCP'], r.stdout)
    assert.match(out.errors[0][1], /^TCP connection to 127\.0\.0\.1:\d+ failed: .*Too many open files.*no file descriptor left.*ulimit -n/)
  } finally {
    await fault.stop()
  }
})

test('a ReconnectingWebSocket closed right after construction sends no upgrade (50 times)', T, async () => {
  const fault = await startFaultServer()
  try {
    for (let i = 0; i < 50; i++) {
      const r = new ReconnectingWebSocket(fault.url(`/echo?i=${i}`))
      r.close()
    }
    // A marker connection: once the server has seen it, any upgrade from the 50 would have arrived first.
    const m = new WebSocket(fault.url('/echo?marker'))
    await once(m, 'open')
    m.close()
    await once(m, 'close')
    const upgrades = fault.events.filter((e) => e.type === 'upgrade').map((e) => e.url)
    assert.deepEqual(upgrades, ['/echo?marker'])
  } finally {
    await fault.stop()
  }
})

test('a GatewayClient closed right after construction sends no upgrade (50 times)', T, async () => {
  const fx = await startFixtureGateway({ token: TOKEN })
  try {
    await Promise.all(Array.from({ length: 50 }, () => new GatewayClient({ url: fx.url, token: TOKEN }).close()))
    // A marker client: the only connection the gateway may have seen.
    const m = new GatewayClient({ url: fx.url, token: TOKEN })
    await m.ready()
    await m.close()
    assert.equal((await fx.connections()).length, 1)
  } finally {
    await fx.stop()
  }
})
