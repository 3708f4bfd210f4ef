'use strict'
// clawsock/ws: ws's documented client behaviours (ws 8's README and its
// test/websocket.test.js), ported, against real peers on loopback: the
// project's fault server and ws's own WebSocketServer (a devDependency).

const test = require('node:test')
const assert = require('node:assert/strict')
const { once } = require('node:events')
const { WebSocketServer } = require('ws')

// Through the package's own "exports" (self-reference), as a user would.
const WebSocket = require('clawsock/ws')
const { createWebSocketStream } = WebSocket
const { startFaultServer } = require('./harness/fault')
const { deadPort } = require('./helpers')

let fault
let wss
let base
const conns = [] // { url, resolve } waiting for the server side of a connection
test.before(async () => {
  fault = await startFaultServer()
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, handleProtocols: (p) => p.values().next().value ?? false })
  await once(wss, 'listening')
  base = `ws://127.0.0.1:${wss.address().port}`
  wss.on('connection', (sock, req) => {
    const i = conns.findIndex((c) => c.url === req.url)
    if (i >= 0) conns.splice(i, 1)[0].resolve(sock)
    if (req.url.startsWith('/echo')) sock.on('message', (d, isBinary) => sock.send(d, { binary: isBinary }))
  })
})
test.after(async () => {
  for (const c of wss.clients) c.terminate()
  await new Promise((resolve) => wss.close(resolve))
  await fault.stop()
})

let seq = 0
/** A URL path of its own for one client, and the server side of its connection. */
function path(prefix) {
  const url = `${prefix}?c=${++seq}`
  return { url, server: new Promise((resolve) => conns.push({ url, resolve })) }
}

/** Every event of `ws` in order, with its arguments, until 'close'. */
function trace(ws, types = ['upgrade', 'open', 'message', 'ping', 'pong', 'error', 'unexpected-response', 'close']) {
  const log = []
  const done = new Promise((resolve) => {
    for (const t of types) ws.on(t, (...args) => {
      log.push([t, ...args])
      if (t === 'close') resolve(log)
    })
  })
  return { log, done }
}

test('the module is the class, with ws\'s statics and constants', async () => {
  assert.equal(typeof WebSocket, 'function')
  assert.equal(WebSocket.WebSocket, WebSocket)
  assert.equal(typeof createWebSocketStream, 'function')
  assert.deepEqual([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED], [0, 1, 2, 3])
  const esm = await import('clawsock/ws')
  assert.equal(esm.default, WebSocket)
  assert.equal(esm.WebSocket, WebSocket)
  assert.equal(esm.createWebSocketStream, createWebSocketStream)
  // The main entry is unchanged, and every one of its names imports by
  // name from ESM too (index.mjs).
  const main = require('clawsock')
  assert.equal(typeof main.WebSocket, 'function')
  const mainEsm = await import('clawsock')
  for (const name of Object.keys(main).filter((n) => n !== 'default')) assert.equal(mainEsm[name], main[name], `import { ${name} } from 'clawsock'`)
  assert.ok(Object.keys(main).includes('GatewayClient'))
})

test('an invalid URL or subprotocol throws at once', () => {
  assert.throws(() => new WebSocket('foo'), { name: 'SyntaxError' })
  assert.throws(() => new WebSocket('ftp://127.0.0.1'), { name: 'SyntaxError' })
  assert.throws(() => new WebSocket(`${base}/#frag`), { name: 'SyntaxError' })
  assert.throws(() => new WebSocket(base, ['a', 'a']), { name: 'SyntaxError' })
})

test('options ws has and clawsock cannot honour fail clearly; the ones it matches are accepted', async () => {
  assert.throws(() => new WebSocket(base, { perMessageDeflate: true }), /perMessageDeflate.*compression/)
  assert.throws(() => new WebSocket(base, { protocolVersion: 8 }), /protocolVersion.*13/)
  // Redirects are followed as in ws (followRedirects, maxRedirects).
  const ws = new WebSocket(`${base}/echo`, { perMessageDeflate: false, followRedirects: true, maxRedirects: 2, protocolVersion: 13, handshakeTimeout: 5000, maxPayload: 1024 })
  await once(ws, 'open')
  ws.close()
  await once(ws, 'close')
})

test('events in ws\'s order: upgrade (with headers), open, message (Buffer, isBinary), close (code, reason Buffer)', async () => {
  const { url, server: serverSide } = path('/echo')
  const ws = new WebSocket(`${base}${url}`, 'chat', { headers: { 'X-Test': 'yes' } })
  assert.equal(ws.readyState, WebSocket.CONNECTING)
  assert.equal(ws.binaryType, 'nodebuffer')
  assert.equal(ws.url, `${base}${url}`)
  const { log, done } = trace(ws)
  const server = await serverSide
  ws.on('open', () => {
    assert.equal(ws.readyState, WebSocket.OPEN)
    assert.equal(ws.protocol, 'chat')
    ws.send('héllo')
    ws.send(Buffer.from([1, 2, 3]))
  })
  let n = 0
  ws.on('message', () => { if (++n === 2) server.close(4001, 'Replaced') })
  await done
  assert.deepEqual(log.map((e) => e[0]), ['upgrade', 'open', 'message', 'message', 'close'])
  const res = log[0][1]
  assert.equal(res.statusCode, 101)
  assert.equal(res.headers.upgrade.toLowerCase(), 'websocket')
  assert.equal(res.headers['sec-websocket-protocol'], 'chat')
  assert.ok(Buffer.isBuffer(log[2][1]))
  assert.equal(log[2][1].toString(), 'héllo')
  assert.equal(log[2][2], false)
  assert.deepEqual([...log[3][1]], [1, 2, 3])
  assert.equal(log[3][2], true)
  assert.equal(log[4][1], 4001)
  assert.ok(Buffer.isBuffer(log[4][2]))
  assert.equal(log[4][2].toString(), 'Replaced')
  assert.equal(ws.readyState, WebSocket.CLOSED)
})

test('binaryType arraybuffer, fragments and blob; a bad one throws', async () => {
  for (const [type, check] of [
    ['arraybuffer', (d) => d instanceof ArrayBuffer && Buffer.from(d).toString() === 'ab'],
    ['fragments', (d) => Array.isArray(d) && Buffer.concat(d).toString() === 'ab'],
    ['blob', (d) => d instanceof Blob && d.size === 2],
  ]) {
    const ws = new WebSocket(`${base}/echo`)
    ws.binaryType = type
    ws.on('open', () => ws.send(Buffer.from('ab')))
    const [data, isBinary] = await once(ws, 'message')
    assert.equal(isBinary, true)
    assert.ok(check(data), type)
    ws.close()
    await once(ws, 'close')
  }
  const ws = new WebSocket(`${base}/echo`)
  assert.throws(() => { ws.binaryType = 'string' }, /binaryType must be one of/)
  // terminate() while connecting fails the handshake, as in ws.
  const { log, done } = trace(ws)
  ws.terminate()
  await done
  assert.deepEqual(log.map((e) => e[0]), ['error', 'close'])
  assert.equal(log[0][1].message, 'WebSocket was closed before the connection was established')
})

test('send: options.binary, fin: false parts, the callback after the write, numbers', async () => {
  const { url, server } = path('/echo')
  const ws = new WebSocket(`${base}${url}`)
  await once(ws, 'open')
  const s = await server
  const got = []
  s.on('message', (d, isBinary) => got.push([d.toString(), isBinary]))
  const written = []
  ws.send('as binary', { binary: true }, (err) => written.push(['a', err]))
  ws.send(Buffer.from('as text'), { binary: false })
  ws.send('part1-', { fin: false })
  ws.send('part2', { fin: true }, (err) => written.push(['b', err]))
  const lastWritten = new Promise((resolve) => ws.send(42, resolve))
  assert.throws(() => ws.send('x', { mask: false }), /mask every frame/)
  assert.throws(() => ws.send('x', { compresss: true }), /send option 'compresss' is not known/)
  assert.throws(() => ws.send(Buffer.from([0xff]), { binary: false }), /valid UTF-8/)
  while (got.length < 4) await once(s, 'message')
  assert.deepEqual(got, [['as binary', true], ['as text', false], ['part1-part2', false], ['42', false]])
  // The server having the bytes does not mean this side has processed their
  // writes yet: wait for the last callback (callbacks run in send order),
  // after which the earlier ones have run and nothing is buffered.
  assert.equal(await lastWritten, null)
  assert.deepEqual(written, [['a', null], ['b', null]])
  assert.equal(ws.bufferedAmount, 0)
  ws.close()
  await once(ws, 'close')
})

test('send while connecting throws; after close the callback gets an error and bufferedAmount grows', async () => {
  const ws = new WebSocket(`${base}/echo`)
  assert.throws(() => ws.send('x'), { message: 'WebSocket is not open: readyState 0 (CONNECTING)' })
  assert.throws(() => ws.ping(), { message: 'WebSocket is not open: readyState 0 (CONNECTING)' })
  await once(ws, 'open')
  ws.close()
  assert.equal(ws.readyState, WebSocket.CLOSING)
  const err = await new Promise((resolve) => ws.send('abcd', resolve))
  assert.equal(err.message, 'WebSocket is not open: readyState 2 (CLOSING)')
  await once(ws, 'close')
  const before = ws.bufferedAmount
  const err2 = await new Promise((resolve) => ws.send('abcd', resolve))
  assert.equal(err2.message, 'WebSocket is not open: readyState 3 (CLOSED)')
  assert.equal(ws.bufferedAmount, before + 4)
})

test('ping with a payload reaches the server; its pong comes back as a pong event with the payload', async () => {
  const { url, server } = path('/plain')
  const ws = new WebSocket(`${base}${url}`)
  await once(ws, 'open')
  const s = await server
  const pinged = once(s, 'ping')
  const pongCb = new Promise((resolve) => ws.ping('hi', undefined, resolve))
  assert.equal(await pongCb, null)
  const [ping] = await pinged
  assert.equal(ping.toString(), 'hi')
  const [pong] = await once(ws, 'pong')
  assert.equal(pong.toString(), 'hi')
  assert.throws(() => ws.ping(Buffer.alloc(126)), { name: 'RangeError', message: 'The data size must not be greater than 125 bytes' })
  ws.close()
  await once(ws, 'close')
})

test('a server ping is a ping event (data) and is answered by itself; pong() sends an unsolicited pong', async () => {
  const { url, server } = path('/plain')
  const ws = new WebSocket(`${base}${url}`)
  await once(ws, 'open')
  const s = await server
  const answered = once(s, 'pong')
  const pinged = once(ws, 'ping')
  s.ping(Buffer.from([7, 8]))
  assert.deepEqual([...(await pinged)[0]], [7, 8])
  assert.deepEqual([...(await answered)[0]], [7, 8])
  const unsolicited = once(s, 'pong')
  ws.pong('u')
  assert.equal((await unsolicited)[0].toString(), 'u')
  ws.close()
  await once(ws, 'close')
})

test('close(): ws\'s argument checks; the code and reason reach the server', async () => {
  const { url, server } = path('/plain')
  const ws = new WebSocket(`${base}${url}`)
  await once(ws, 'open')
  const s = await server
  assert.throws(() => ws.close(1005), { name: 'TypeError', message: 'First argument must be a valid error code number' })
  assert.throws(() => ws.close('1000'), { name: 'TypeError' })
  assert.throws(() => ws.close(1000, 'x'.repeat(124)), { name: 'RangeError', message: 'The message must not be greater than 123 bytes' })
  const closed = once(s, 'close')
  const clientClosed = once(ws, 'close')
  ws.close(1001, 'going')
  const [code, reason] = await closed
  assert.equal(code, 1001)
  assert.equal(reason.toString(), 'going')
  const [c2, r2] = await clientClosed
  assert.equal(c2, 1001)
  assert.equal(r2.toString(), 'going')
})

test('close() while connecting: error "closed before the connection was established", then close 1006', async () => {
  const ws = new WebSocket(fault.url('/hang'))
  const { log, done } = trace(ws)
  ws.close()
  assert.equal(ws.readyState, WebSocket.CLOSING)
  await done
  assert.deepEqual(log.map((e) => e[0]), ['error', 'close'])
  assert.equal(log[0][1].message, 'WebSocket was closed before the connection was established')
  assert.equal(log[1][1], 1006)
  assert.equal(log[1][2].length, 0)
})

test('terminate(): close 1006 with no error event', async () => {
  const ws = new WebSocket(`${base}/plain`)
  await once(ws, 'open')
  const { log, done } = trace(ws)
  ws.terminate()
  assert.equal(ws.readyState, WebSocket.CLOSING)
  await done
  assert.deepEqual(log.map((e) => e[0]), ['close'])
  assert.equal(log[0][1], 1006)
})

test('a non-101 answer: unexpected-response (req, res) when listened to, else error; close 1006 either way', async () => {
  const a = new WebSocket(fault.url('/reject/403'))
  const ta = trace(a, ['upgrade', 'open', 'error', 'close'])
  await ta.done
  assert.deepEqual(ta.log.map((e) => e[0]), ['error', 'close'])
  assert.match(ta.log[0][1].message, /unexpected HTTP 403/)
  assert.equal(ta.log[0][1].status, 403)

  const b = new WebSocket(fault.url('/reject/401?body=nope'))
  const tb = trace(b)
  await tb.done
  assert.deepEqual(tb.log.map((e) => e[0]), ['unexpected-response', 'close'])
  const [, req, res] = tb.log[0]
  assert.equal(req.method, 'GET')
  assert.equal(req.path, '/reject/401?body=nope')
  assert.equal(res.statusCode, 401)
  assert.equal(res.statusMessage, 'Unauthorized')
  assert.equal(res.headers['x-fault'], 'reject')
  let body = ''
  for await (const chunk of res) body += chunk
  assert.equal(body, 'nope')
  assert.equal(tb.log[1][1], 1006)
})

test('a refused connection: error with a cause, then close 1006', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${await deadPort()}/`)
  const { log, done } = trace(ws)
  await done
  assert.deepEqual(log.map((e) => e[0]), ['error', 'close'])
  assert.equal(log[0][1].code, 'CLAWSOCK_CONNECTION_REFUSED')
})

test('addEventListener, removeEventListener and on<event> attributes, with ws\'s event objects', async () => {
  const ws = new WebSocket(`${base}/echo`)
  const seen = []
  const onMessage = (ev) => seen.push(['listener', ev.data, ev.target === ws])
  const removed = () => seen.push(['removed'])
  ws.addEventListener('message', onMessage)
  ws.addEventListener('message', onMessage) // a duplicate is not added
  ws.addEventListener('message', removed)
  ws.removeEventListener('message', removed)
  ws.onopen = (ev) => { seen.push(['onopen', ev.type]); ws.send('t'); ws.send(Buffer.from('b')) }
  ws.onmessage = (ev) => { if (seen.filter((s) => s[0] === 'listener').length === 2) ws.close(1000, 'bye') }
  assert.equal(typeof ws.onmessage, 'function')
  const closeEvent = new Promise((resolve) => ws.addEventListener('close', resolve, { once: true }))
  const ev = await closeEvent
  assert.deepEqual(seen, [['onopen', 'open'], ['listener', 't', true], ['listener', Buffer.from('b'), true]])
  assert.equal(ev.code, 1000)
  assert.equal(ev.reason, 'bye')
  assert.equal(ev.wasClean, true)
  assert.equal(ws.listenerCount('close'), 0, 'a once listener is removed')
  ws.onmessage = null
  assert.equal(ws.onmessage, null)
  assert.throws(() => ws.addEventListener('ping', () => {}), /only open, message, error and close/)
})

test('pause() stops delivery and socket reads (the server sees backpressure); resume() delivers all in order', async (t) => {
  const { url, server } = path('/plain')
  const ws = new WebSocket(`${base}${url}`)
  await once(ws, 'open')
  const s = await server
  ws.pause()
  assert.equal(ws.isPaused, true)
  const got = []
  ws.on('message', (d) => {
    assert.equal(ws.isPaused, false, 'a message was delivered while paused')
    got.push(d.readUInt32BE(0))
  })
  // The server sends 1 MiB messages, one per turn of the event loop, until
  // its socket holds 16 MiB it cannot write (the client stopped reading)
  // or 256 messages went out (it did not).
  let sent = 0
  while (sent < 256 && s.bufferedAmount < 16 << 20) {
    const chunk = Buffer.alloc(1 << 20)
    chunk.writeUInt32BE(sent, 0)
    s.send(chunk)
    sent++
    await new Promise((resolve) => setImmediate(resolve))
  }
  assert.ok(sent < 256, `the server wrote ${sent} MiB without backpressure`)
  t.diagnostic(`server blocked after ${sent} x 1 MiB sent to the paused socket`)
  assert.equal(got.length, 0)
  ws.resume()
  assert.equal(ws.isPaused, false)
  while (got.length < sent) await once(ws, 'message')
  assert.deepEqual(got, Array.from({ length: sent }, (_, i) => i))
  ws.close()
  await once(ws, 'close')
})

test('pause() stops reading the socket: a ping sent while paused is answered only after resume()', async (t) => {
  const a = path('/plain')
  const b = path('/echo')
  const paused = new WebSocket(`${base}${a.url}`)
  const other = new WebSocket(`${base}${b.url}`)
  t.after(() => { paused.terminate(); other.terminate() })
  await Promise.all([once(paused, 'open'), once(other, 'open')])
  const s = await a.server
  paused.pause()
  let resumed = false
  const answered = new Promise((resolve) => s.once('pong', () => resolve(resumed)))
  s.ping('while paused')
  // Round trips on another socket of the same runtime: a socket that still
  // read would have answered the ping by now.
  for (let i = 0; i < 5; i++) {
    other.send('x')
    await once(other, 'message')
  }
  resumed = true
  paused.resume()
  assert.equal(await answered, true, 'the paused socket read the ping and answered it')
  paused.close()
  other.close()
  await Promise.all([once(paused, 'close'), once(other, 'close')])
})

test('createWebSocketStream: a Duplex that writes messages and reads them back, and closes the socket at end', async () => {
  const ws = new WebSocket(`${base}/echo`)
  const duplex = createWebSocketStream(ws, { encoding: 'utf8' })
  duplex.write('one')
  duplex.write('two')
  let text = ''
  for await (const chunk of duplex) {
    text += chunk
    if (text === 'onetwo') duplex.end()
  }
  assert.equal(text, 'onetwo')
  if (ws.readyState !== WebSocket.CLOSED) await once(ws, 'close')
  assert.equal(ws.readyState, WebSocket.CLOSED)
})
