'use strict'
// WebSocket as a drop-in for the standard one: what the Web Platform Tests
// (websockets/) check and Node's own WebSocket does. The WebIDL shape,
// constructor edge cases, event handler attributes, readyState when 'error'
// fires, binaryType 'blob' by default, and wasClean over wss when the server
// closes TCP without a TLS close_notify. Against the fault server on loopback.

const test = require('node:test')
const assert = require('node:assert/strict')
const net = require('node:net')

const { WebSocket, ReconnectingWebSocket, CloseEvent, MessageEvent, ErrorEvent } = require('..')
const { startFaultServer } = require('./harness/fault')
const { makeTestPki } = require('./harness/tls')
const { once, record } = require('./helpers')

let server
let tlsServer
let pki
test.before(async () => {
  pki = makeTestPki()
  server = await startFaultServer()
  tlsServer = await startFaultServer({ tls: { cert: pki.certPem, key: pki.keyPem } })
})
test.after(async () => {
  await server.stop()
  await tlsServer.stop()
})

/** The first message's data and the close event of a socket to `url`. */
async function firstMessage(ws) {
  const ev = await once(ws, 'message')
  ws.close()
  await once(ws, 'close')
  return ev.data
}

// --- wasClean -------------------------------------------------------------

test('wss: a completed closing handshake is clean although the server sends no TLS close_notify', async () => {
  const tls = { tls: { ca: pki.caPem } }
  // The server closes first, then drops TCP without close_notify.
  const a = new WebSocket(tlsServer.url('/no-close-notify'), undefined, tls)
  const closeA = await once(a, 'close')
  assert.deepEqual([closeA.code, closeA.reason, closeA.wasClean], [1000, 'bye', true])
  // The client closes first; the server answers and drops TCP the same way.
  const b = new WebSocket(tlsServer.url('/no-close-notify?by=client'), undefined, tls)
  b.onopen = () => b.close(1000, 'done')
  const closeB = await once(b, 'close')
  assert.deepEqual([closeB.code, closeB.wasClean], [1000, true])
  const echoed = await tlsServer.waitForEvent((e) => e.path === '/no-close-notify' && e.type === 'close' && e.reason === 'done')
  assert.equal(echoed.code, 1000)
})

test('wss: a connection that ends without a closing handshake is still not clean', async () => {
  const ws = new WebSocket(tlsServer.url('/drop-mid-frame'), undefined, { tls: { ca: pki.caPem } })
  const close = await once(ws, 'close')
  assert.deepEqual([close.code, close.wasClean], [1006, false])
})

// --- binaryType -------------------------------------------------------------

test("binaryType is 'blob' by default; 'arraybuffer' and 'nodebuffer' still work; other values are ignored", async () => {
  const ws = new WebSocket(server.url('/echo'))
  assert.equal(ws.binaryType, 'blob')
  ws.onopen = () => ws.send(new Uint8Array([1, 2, 250]))
  const data = await firstMessage(ws)
  assert.ok(data instanceof Blob)
  assert.deepEqual([...new Uint8Array(await data.arrayBuffer())], [1, 2, 250])

  const ab = new WebSocket(server.url('/echo'))
  ab.binaryType = 'arraybuffer'
  ab.binaryType = 'notBlobOrArrayBuffer'
  assert.equal(ab.binaryType, 'arraybuffer')
  ab.onopen = () => ab.send(new Uint8Array([7]))
  const abData = await firstMessage(ab)
  assert.ok(abData instanceof ArrayBuffer)
  assert.deepEqual([...new Uint8Array(abData)], [7])
})

// --- WebIDL shape -----------------------------------------------------------

test('WebIDL shape: length, enumerable members, names and Symbol.toStringTag', () => {
  assert.equal(WebSocket.length, 1)
  assert.equal(WebSocket.prototype.close.length, 0)
  assert.equal(WebSocket.prototype.send.length, 1)
  const enumerable = Object.keys(WebSocket.prototype)
  for (const name of ['url', 'readyState', 'bufferedAmount', 'extensions', 'protocol', 'binaryType', 'close', 'send',
    'onopen', 'onmessage', 'onerror', 'onclose', 'CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) {
    assert.ok(enumerable.includes(name), `WebSocket.prototype.${name} is not enumerable`)
  }
  for (const name of ['wasClean', 'code', 'reason']) assert.ok(Object.keys(CloseEvent.prototype).includes(name), `CloseEvent ${name}`)
  for (const name of ['data', 'origin', 'lastEventId', 'source', 'ports']) assert.ok(Object.keys(MessageEvent.prototype).includes(name), `MessageEvent ${name}`)
  const onopen = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onopen')
  assert.deepEqual([onopen.get.name, onopen.set.name], ['get onopen', 'set onopen'])

  const ws = new WebSocket(server.url('/echo'))
  assert.equal(Object.prototype.toString.call(ws), '[object WebSocket]')
  ws.close()
  assert.equal(String(new CloseEvent('close')), '[object CloseEvent]')
  assert.equal(String(new MessageEvent('message')), '[object MessageEvent]')
  assert.equal(String(new ErrorEvent('error')), '[object ErrorEvent]')
})

test('WebIDL shape: CONNECTING..CLOSED are read-only and permanent on the class and the prototype', () => {
  for (const [target, label] of [[WebSocket, 'WebSocket'], [WebSocket.prototype, 'WebSocket.prototype']]) {
    for (const [name, value] of [['CONNECTING', 0], ['OPEN', 1], ['CLOSING', 2], ['CLOSED', 3]]) {
      assert.deepEqual(Object.getOwnPropertyDescriptor(target, name), { value, writable: false, enumerable: true, configurable: false }, `${label}.${name}`)
      assert.throws(() => { target[name] = 42 }, TypeError)
      assert.throws(() => { delete target[name] }, TypeError)
      assert.throws(() => Object.defineProperty(target, name, { value: 42 }), TypeError)
      assert.equal(target[name], value)
    }
  }
})

test('WebIDL shape: accessors and on* handlers throw TypeError on a foreign this', () => {
  const foreign = [{}, new EventTarget(), WebSocket.prototype]
  for (const name of ['url', 'readyState', 'bufferedAmount', 'extensions', 'protocol', 'binaryType', 'onopen', 'onmessage', 'onerror', 'onclose']) {
    const d = Object.getOwnPropertyDescriptor(WebSocket.prototype, name)
    for (const self of foreign) {
      assert.throws(() => d.get.call(self), TypeError, `get ${name}`)
      if (d.set) assert.throws(() => d.set.call(self, () => {}), TypeError, `set ${name}`)
    }
  }
  assert.throws(() => WebSocket.prototype.send.call({}, 'x'), TypeError)
  assert.throws(() => WebSocket.prototype.close.call({}), TypeError)
  for (const name of ['wasClean', 'code', 'reason']) {
    assert.throws(() => Object.getOwnPropertyDescriptor(CloseEvent.prototype, name).get.call(new Event('close')), TypeError)
  }
})

test('send() without an argument throws TypeError, also while CONNECTING', async () => {
  const ws = new WebSocket(server.url('/echo'))
  assert.throws(() => ws.send(), (e) => e.constructor === TypeError)
  // With an argument, CONNECTING is still an InvalidStateError.
  assert.throws(() => ws.send('x'), (e) => e instanceof DOMException && e.name === 'InvalidStateError')
  await once(ws, 'open')
  assert.throws(() => ws.send(), (e) => e.constructor === TypeError)
  ws.close()
  await once(ws, 'close')
})

// --- constructor ------------------------------------------------------------

test('protocols that repeat with different case throw SyntaxError', () => {
  for (const protocols of [['echo', 'eCho'], ['chat', 'CHAT', 'x']]) {
    assert.throws(() => new WebSocket(server.url('/echo'), protocols), (e) => e instanceof DOMException && e.name === 'SyntaxError' && /duplicated/.test(e.message))
  }
})

test('a third argument that is not an object is ignored; options may come second, as in undici', async () => {
  for (const extra of ['too many', 42, true]) {
    const ws = new WebSocket(server.url('/subprotocol'), ['chat'], extra)
    assert.equal(await firstMessage(ws), 'chat')
  }
  const ws = new WebSocket(server.url('/headers'), { protocols: ['chat', 'superchat'], headers: { 'X-Undici-Form': 'yes' } })
  ws.onopen = () => assert.equal(ws.protocol, 'chat')
  const headers = JSON.parse(await firstMessage(ws))
  assert.equal(headers['x-undici-form'], 'yes')
  assert.equal(headers['sec-websocket-protocol'], 'chat, superchat')

  assert.throws(() => new WebSocket(server.url('/echo'), { dispatcher: {} }), (e) => e instanceof TypeError && /'dispatcher'/.test(e.message))
  assert.throws(() => new WebSocket(server.url('/echo'), { headers: {} }, { tls: {} }), (e) => e instanceof TypeError && /passed twice/.test(e.message))
})

test('user:password@ in the URL is sent as Basic auth and kept out of error messages', async () => {
  const ws = new WebSocket(server.url('/headers').replace('ws://', 'ws://al%20ice:s3cr%C3%A9t@'))
  assert.equal(ws.url, server.url('/headers').replace('ws://', 'ws://al%20ice:s3cr%C3%A9t@')) // as Node's ws.url
  const headers = JSON.parse(await firstMessage(ws))
  assert.equal(headers.authorization, `Basic ${Buffer.from('al ice:s3crét').toString('base64')}`)
  const upgrade = await server.waitForEvent((e) => e.type === 'upgrade' && e.path === '/headers' && e.headers.authorization)
  assert.ok(!upgrade.url.includes('s3cr'), 'the credentials were sent in the request line')

  // An explicit Authorization header wins over the URL's credentials.
  const own = new WebSocket(server.url('/headers').replace('ws://', 'ws://u:p@'), undefined, { headers: { Authorization: 'Bearer t' } })
  assert.equal(JSON.parse(await firstMessage(own)).authorization, 'Bearer t')

  // Nothing listens on a port just freed: the error names the address, not the password.
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) })
  })
  const refused = new WebSocket(`ws://user:s3cret@127.0.0.1:${port}/`)
  const { log, done } = record(refused)
  await done
  const texts = log.flatMap((e) => [e.message, e.reason, e.error && e.error.message]).filter(Boolean)
  assert.ok(texts.length > 0)
  for (const t of texts) assert.ok(!t.includes('s3cret'), `the password was printed: ${t}`)
  assert.throws(() => new WebSocket('ws://user:s3cret@exa mple.com/'), (e) => e.name === 'SyntaxError' && !e.message.includes('s3cret'))
})

test('ReconnectingWebSocket sends URL credentials as Basic auth too', async () => {
  const rws = new ReconnectingWebSocket(server.url('/headers').replace('ws://', 'ws://bob:pw@'))
  const ev = await once(rws, 'message')
  rws.close()
  await once(rws, 'terminal')
  assert.equal(JSON.parse(ev.data).authorization, `Basic ${Buffer.from('bob:pw').toString('base64')}`)
})

test('relative URLs resolve against globalThis.location when it is set, and are refused when not', async () => {
  assert.equal(globalThis.location, undefined)
  assert.throws(() => new WebSocket('/echo'), (e) => e instanceof DOMException && e.name === 'SyntaxError')
  const { port } = server
  globalThis.location = new URL(`http://127.0.0.1:${port}/dir/page.html?q=1`)
  try {
    assert.equal(new WebSocket('x', [], undefined).url, `ws://127.0.0.1:${port}/dir/x`)
    const ws = new WebSocket('/echo')
    assert.equal(ws.url, `ws://127.0.0.1:${port}/echo`)
    ws.onopen = () => ws.send('relative')
    assert.equal(await firstMessage(ws), 'relative')
  } finally {
    delete globalThis.location
  }
})

// --- events -----------------------------------------------------------------

test('an on* handler set to an object is kept but not called, and its handleEvent is never looked up', async () => {
  const ws = new WebSocket(server.url('/echo'))
  let lookedUp = false
  const handler = Object.create(null, { handleEvent: { get() { lookedUp = true; return () => {} } } })
  ws.onmessage = handler
  assert.equal(ws.onmessage, handler)
  const called = []
  ws.addEventListener('message', () => called.push('listener'))
  ws.onopen = () => ws.send('ping')
  await firstMessage(ws)
  assert.deepEqual(called, ['listener'])
  assert.equal(lookedUp, false)
  ws.onmessage = 'not an object'
  assert.equal(ws.onmessage, null)
})

test('a function handler keeps its place in the listener order when replaced', async () => {
  const ws = new WebSocket(server.url('/echo'))
  const order = []
  ws.addEventListener('message', () => order.push('first listener'))
  ws.onmessage = () => order.push('old handler')
  ws.addEventListener('message', () => order.push('last listener'))
  ws.onmessage = () => order.push('new handler')
  ws.onopen = () => ws.send('x')
  await firstMessage(ws)
  assert.deepEqual(order, ['first listener', 'new handler', 'last listener'])
})

test('an invalid frame from the server: readyState is already CLOSED when error fires', async () => {
  for (const path of ['/raw-frames/masked', '/invalid-utf8']) {
    const ws = new WebSocket(server.url(path))
    const states = []
    ws.onerror = () => states.push(['error', ws.readyState])
    ws.onclose = (e) => states.push(['close', ws.readyState, e.code, e.wasClean])
    await once(ws, 'close')
    const code = path === '/invalid-utf8' ? 1007 : 1002
    assert.deepEqual(states, [['error', WebSocket.CLOSED], ['close', WebSocket.CLOSED, code, false]], path)
  }
})
