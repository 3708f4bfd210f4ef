'use strict'
// Options are checked in one place (lib/options.js) with one naming rule:
// an unknown top-level option warns once naming the closest valid one, an
// unknown key in reconnect/queue/tls throws naming the closest key, options
// of ws/undici/the reference client that clawsock cannot honour say what to
// use instead, deprecated gateway names still work, and ReconnectingWebSocket
// and GatewayClient check `reconnect` the same way. Clients are pointed at a
// loopback port where nothing listens and closed; every wait is on an event.

const test = require('node:test')
const assert = require('node:assert/strict')
const { WebSocket, ReconnectingWebSocket, GatewayClient } = require('..')
const { webSocketOptions, gatewayOptions, reconnectingOptions } = require('../lib/options.js')
const { deadPort, once } = require('./helpers')

/** Collects clawsock's unknown-option warnings until the returned stop(). */
function warnings() {
  const seen = []
  const fn = (w) => {
    if (w.code === 'CLAWSOCK_UNKNOWN_OPTION') seen.push(w.message)
  }
  process.on('warning', fn)
  return { seen, stop: () => process.off('warning', fn) }
}

const isTypeError = (re) => (err) => err instanceof TypeError && re.test(err.message)

test('an unknown top-level option warns once per class and key, naming the closest option', async () => {
  const url = `ws://127.0.0.1:${await deadPort()}/`
  const w = warnings()
  for (let i = 0; i < 3; i++) {
    const ws = new WebSocket(url, [], { handshakeTimout: 5000 })
    await once(ws, 'close')
  }
  const rws = new ReconnectingWebSocket(url, { handshakeTimout: 5000, queu: { maxMessages: 1 } })
  rws.close()
  await once(rws, 'terminal')
  const gw = new GatewayClient({ url, reconnect: false, tokn: 'x', pingInterval: 5 })
  await gw.close()
  w.stop()
  assert.deepEqual(w.seen.sort(), [
    "clawsock: GatewayClient option 'pingInterval' is not a known option and is ignored: it is an option of WebSocket and ReconnectingWebSocket, not of GatewayClient",
    "clawsock: GatewayClient option 'tokn' is not a known option and is ignored; did you mean 'token'?",
    "clawsock: ReconnectingWebSocket option 'handshakeTimout' is not a known option and is ignored; did you mean 'handshakeTimeout'?",
    "clawsock: ReconnectingWebSocket option 'queu' is not a known option and is ignored; did you mean 'queue'?",
    "clawsock: WebSocket option 'handshakeTimout' is not a known option and is ignored; did you mean 'handshakeTimeout'?",
  ])
})

test('an option with no close match lists the known ones', async () => {
  const url = `ws://127.0.0.1:${await deadPort()}/`
  const w = warnings()
  const ws = new WebSocket(url, [], { zzzzzzzzzzzz: 1 })
  await once(ws, 'close')
  w.stop()
  assert.equal(w.seen.length, 1)
  assert.match(w.seen[0], /'zzzzzzzzzzzz' is not a known option and is ignored; known options: protocols, headers, origin, handshakeTimeout/)
})

test('an unknown key in reconnect, queue or tls throws, naming the closest key', () => {
  const url = 'ws://127.0.0.1:9/'
  const cases = [
    [() => new ReconnectingWebSocket(url, { reconnect: { initalDelay: 5 } }), /'reconnect\.initalDelay' is not a known option \(did you mean 'reconnect\.initialDelay'\?\)/],
    [() => new ReconnectingWebSocket(url, { queue: { maxMesages: 5 } }), /'queue\.maxMesages' is not a known option \(did you mean 'queue\.maxMessages'\?\)/],
    [() => new WebSocket(url, [], { tls: { rejectUnauthorised: false } }), /'tls\.rejectUnauthorised' is not a known option \(did you mean 'tls\.rejectUnauthorized'\?\)/],
    [() => new GatewayClient({ url, reconnect: { maxDelayMS: 5 } }), /GatewayClient option 'reconnect\.maxDelayMS' is not a known option \(did you mean 'reconnect\.maxDelay'\?\)/],
    [() => new GatewayClient({ url, tls: { servernam: 'x' } }), /'tls\.servernam' is not a known option \(did you mean 'tls\.servername'\?\)/],
  ]
  for (const [make, re] of cases) assert.throws(make, isTypeError(re), String(re))
})

test('ws and undici options clawsock cannot honour say what to use instead', async () => {
  const url = 'ws://127.0.0.1:9/'
  const cases = [
    [{ agent: {} }, /WebSocket option 'agent' cannot be honoured: .*http\.Agent; to go through a proxy pass proxy: 'http:\/\/host:port'/],
    [{ dispatcher: {} }, /'dispatcher' cannot be honoured: undici's dispatcher/],
    [{ perMessageDeflate: true }, /'perMessageDeflate' cannot be honoured: clawsock does not implement permessage-deflate/],
    [{ perMessageDeflate: { threshold: 1024 } }, /permessage-deflate/],
    [{ autoPong: false }, /'autoPong' cannot be honoured: clawsock always answers a ping with a pong/],
    [{ createConnection: () => null }, /'createConnection' cannot be honoured/],
    [{ lookup: () => null }, /'lookup' cannot be honoured: DNS is resolved in Rust/],
    [{ socketPath: '/tmp/x.sock' }, /Unix domain sockets are not supported/],
    [{ skipUTF8Validation: true }, /valid UTF-8/],
    [{ tls: { cert: 'x' } }, /'tls\.cert' cannot be honoured: client certificates/],
  ]
  for (const [options, re] of cases) {
    assert.throws(() => new WebSocket(url, [], options), isTypeError(re), JSON.stringify(options))
  }
  assert.throws(() => new ReconnectingWebSocket(url, { agent: {} }), isTypeError(/ReconnectingWebSocket option 'agent' cannot be honoured/))
  assert.throws(() => new GatewayClient({ url, agent: {} }), isTypeError(/GatewayClient option 'agent' cannot be honoured/))
  assert.throws(() => new GatewayClient({ url, onHelloOk: () => {} }), isTypeError(/'onHelloOk' cannot be honoured: use client\.on\('hello', fn\)/))
  // The values that match what clawsock does anyway are accepted, without a warning.
  const w = warnings()
  const ws = new WebSocket(`ws://127.0.0.1:${await deadPort()}/`, [], { perMessageDeflate: false, autoPong: true, allowSynchronousEvents: true, protocolVersion: 13 })
  await once(ws, 'close')
  w.stop()
  assert.deepEqual(w.seen, [])
})

test("ws's top-level ca, rejectUnauthorized and servername are the tls settings", () => {
  const n = webSocketOptions({ ca: 'PEM', rejectUnauthorized: false, servername: 'example.test' }, [])
  assert.deepEqual([n.ca, n.rejectUnauthorized, n.servername], [['PEM'], false, 'example.test'])
  assert.deepEqual(webSocketOptions({ tls: { ca: ['PEM'] } }, []).ca, ['PEM'])
  assert.throws(() => webSocketOptions({ ca: 'A', tls: { ca: 'B' } }, []), isTypeError(/'ca' was given twice, also as 'tls\.ca'/))
})

test('GatewayClient: deprecated names still work; both spellings at once throw', async () => {
  const url = `ws://127.0.0.1:${await deadPort()}/`
  const old = gatewayOptions({ url, handshakeTimeoutMs: 4000, reconnect: { initialDelayMs: 100, maxDelayMs: 900 } }).native
  const now = gatewayOptions({ url, handshakeTimeout: 4000, reconnect: { initialDelay: 100, maxDelay: 900 } }).native
  assert.deepEqual(old, now)
  assert.deepEqual([now.handshakeTimeoutMs, now.reconnectOptions.initialDelay, now.reconnectOptions.maxDelay], [4000, 100, 900])
  const c = new GatewayClient({ url, handshakeTimeoutMs: 4000, reconnect: { initialDelayMs: 100, maxDelayMs: 900 } })
  await c.close()
  assert.throws(() => new GatewayClient({ url, handshakeTimeout: 1, handshakeTimeoutMs: 1 }),
    isTypeError(/GatewayClient option 'handshakeTimeout' was given twice, also as 'handshakeTimeoutMs' \(its deprecated name\)/))
  assert.throws(() => new GatewayClient({ url, reconnect: { initialDelayMs: 1, initialDelay: 1 } }),
    isTypeError(/'reconnect\.initialDelay' was given twice, also as 'reconnect\.initialDelayMs'/))
  // Errors name the spelling that was used.
  assert.throws(() => new GatewayClient({ url, reconnect: { initialDelayMs: 0 } }), isTypeError(/'reconnect\.initialDelayMs' must be a positive number/))
})

test('GatewayClient: reconnect takes the same keys as ReconnectingWebSocket, except finalCodes', () => {
  const url = 'ws://127.0.0.1:9/'
  const reconnect = { initialDelay: 10, maxDelay: 80, factor: 3, jitter: 'equal', maxRetries: 4, stableAfter: 700, flapThreshold: 2, flapWindow: 300 }
  const n = gatewayOptions({ url, reconnect }).native
  const r = reconnectingOptions({ reconnect }, []).reconnect
  assert.deepEqual(r, { ...reconnect })
  // One native shape, converted by one Rust function for both classes (the
  // gateway always asks for the go-ahead before dialing, as the
  // ReconnectingWebSocket class does by passing askTarget).
  assert.deepEqual(n.reconnectOptions, { ...r, askTarget: true })
  assert.throws(() => new GatewayClient({ url, reconnect: { finalCodes: [4001] } }), isTypeError(/'reconnect\.finalCodes' is not available for GatewayClient: .*details\.code/))
})

test('jitter is rejected the same way by ReconnectingWebSocket and GatewayClient', () => {
  const url = 'ws://127.0.0.1:9/'
  const messages = []
  for (const make of [() => new ReconnectingWebSocket(url, { reconnect: { jitter: 'lots' } }), () => new GatewayClient({ url, reconnect: { jitter: 'lots' } })]) {
    assert.throws(make, (err) => {
      assert.ok(err instanceof TypeError)
      messages.push(err.message.replace(/^clawsock: \w+ /, ''))
      return true
    })
  }
  assert.equal(messages[0], "option 'reconnect.jitter' must be 'full', 'equal' or 'none', got \"lots\"")
  assert.equal(messages[1], messages[0])
})

test("GatewayClient's reconnecting event has delay, and delayMs as its deprecated alias", async () => {
  const url = `ws://127.0.0.1:${await deadPort()}/`
  const c = new GatewayClient({ url, reconnect: { initialDelay: 40, maxDelay: 40, jitter: 'none' } })
  const info = await new Promise((resolve) => c.once('reconnecting', resolve))
  await c.close()
  assert.equal(info.delay, 40)
  assert.equal(info.delayMs, info.delay)
})
