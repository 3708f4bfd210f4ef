'use strict'
// App-level ready (ReconnectingWebSocket's `ready` option) and the `signal`
// option of all three clients, against a real ws server on loopback.
// Every wait is on an event; assertions are on order, counts and codes.

const test = require('node:test')
const assert = require('node:assert/strict')
const { getEventListeners } = require('node:events')
const { WebSocketServer } = require('ws')
const { WebSocket, ReconnectingWebSocket, GatewayClient } = require('..')
const { deadPort, once } = require('./helpers')

/**
 * A server with an auth step: the first message must be "auth". mode 'ack'
 * answers "authed" and records every later message; mode 'close' closes
 * 4000 "closing after auth" as soon as the auth message arrives (auth seen,
 * never acknowledged). `received` is the server-side order of messages,
 * `closes` the close codes and reasons the clients sent.
 */
async function startAuthServer(mode) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(wss, 'listening')
  const received = []
  const closes = []
  const waiters = []
  wss.on('connection', (ws) => {
    let authed = false
    ws.on('message', (data) => {
      const text = data.toString()
      received.push(text)
      for (const w of waiters.filter((w) => received.length >= w.n)) w.resolve()
      if (!authed && text === 'auth') {
        authed = true
        if (mode === 'close') ws.close(4000, 'closing after auth')
        else ws.send('authed')
      }
    })
    ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }))
  })
  return {
    url: `ws://127.0.0.1:${wss.address().port}`,
    received,
    closes,
    /** Resolves once `n` messages have arrived. */
    receivedCount: (n) => new Promise((resolve) => (received.length >= n ? resolve() : waiters.push({ n, resolve }))),
    stop: () => new Promise((resolve) => {
      for (const c of wss.clients) c.terminate()
      wss.close(resolve)
    }),
  }
}

/** The auth step: send "auth" past the queue, resolve on "authed". */
async function authenticate(socket) {
  const authed = new Promise((resolve) => {
    const onMessage = (e) => {
      if (e.data !== 'authed') return
      socket.removeEventListener('message', onMessage)
      resolve()
    }
    socket.addEventListener('message', onMessage)
  })
  assert.equal(socket.sendNow('auth'), true)
  await authed
}

/** Resolves with the first `n` reconnecting events of `rws`. */
function reconnects(rws, n) {
  const events = []
  return new Promise((resolve) => {
    rws.addEventListener('reconnecting', (e) => {
      events.push({ attempt: e.attempt, delay: e.delay, code: e.lastClose.code })
      if (events.length === n) resolve(events)
    })
  })
}

const backoff = { initialDelay: 20, maxDelay: 10_000, factor: 2, jitter: 'none', stableAfter: 0, flapThreshold: 0 }

test('ready: queued messages wait for the ready step; the server sees auth first, then the queue in order', async (t) => {
  const srv = await startAuthServer('ack')
  t.after(() => srv.stop())
  const order = []
  const rws = new ReconnectingWebSocket(srv.url, {
    ready: async (socket) => {
      order.push('ready-called')
      // Sent while not ready: queued behind q1 and q2.
      assert.equal(socket.send('q3'), true)
      assert.deepEqual(socket.queued, { messages: 4, bytes: 8 })
      await authenticate(socket)
    },
  })
  t.after(() => rws.close())
  for (const type of ['open', 'ready']) rws.addEventListener(type, () => order.push(type))
  rws.send('q1')
  rws.send('q2')
  const sent = rws.sendAsync('q4')
  await once(rws, 'ready')
  await sent
  await srv.receivedCount(5)
  assert.deepEqual(order, ['open', 'ready-called', 'ready'])
  assert.deepEqual(srv.received, ['auth', 'q1', 'q2', 'q4', 'q3'])
  assert.deepEqual(rws.queued, { messages: 0, bytes: 0 })
  assert.equal(rws.stats.messagesOut, 4, 'sendNow is not counted; the four queued messages are')
})

test('ready: a server that closes right after auth is backed off more each time (no reset)', async (t) => {
  const srv = await startAuthServer('close')
  t.after(() => srv.stop())
  const rws = new ReconnectingWebSocket(srv.url, { reconnect: backoff, ready: authenticate })
  t.after(() => rws.close())
  let readies = 0
  rws.addEventListener('ready', () => readies++)
  rws.send('never before ready')
  const events = await reconnects(rws, 4)
  assert.deepEqual(events.map((e) => e.attempt), [1, 2, 3, 4])
  assert.deepEqual(events.map((e) => e.delay), [20, 40, 80, 160])
  assert.deepEqual(events.map((e) => e.code), [4000, 4000, 4000, 4000])
  assert.equal(readies, 0)
  assert.ok(srv.received.length >= 4 && srv.received.every((m) => m === 'auth'), `the queue went out before ready: ${srv.received}`)
  assert.deepEqual(rws.queued, { messages: 1, bytes: 18 })
})

test('ready: without the option the same server resets the backoff every time (the control)', async (t) => {
  const srv = await startAuthServer('close')
  t.after(() => srv.stop())
  const rws = new ReconnectingWebSocket(srv.url, { reconnect: backoff })
  t.after(() => rws.close())
  rws.addEventListener('open', () => rws.send('auth'))
  const events = await reconnects(rws, 3)
  assert.deepEqual(events.map((e) => e.attempt), [1, 1, 1])
})

test('ready: a ready function that rejects closes that connection with 1011 and counts as a failed attempt', async (t) => {
  const srv = await startAuthServer('ack')
  t.after(() => srv.stop())
  let calls = 0
  const rws = new ReconnectingWebSocket(srv.url, {
    reconnect: backoff,
    ready: async () => {
      calls++
      throw new Error('no ticket for this session')
    },
  })
  t.after(() => rws.close())
  const errors = []
  const closes = []
  rws.addEventListener('error', (e) => errors.push(e))
  rws.addEventListener('close', (e) => closes.push(e.code))
  rws.send('held')
  const events = await reconnects(rws, 3)
  assert.deepEqual(events.map((e) => e.attempt), [1, 2, 3])
  assert.deepEqual(events.map((e) => e.code), [1011, 1011, 1011])
  assert.deepEqual(closes, [1011, 1011, 1011])
  assert.equal(calls >= 3, true)
  assert.match(errors[0].message, /ready function failed \(no ticket for this session\).*1011/)
  assert.equal(errors[0].error.message, 'no ticket for this session')
  assert.deepEqual(srv.closes[0], { code: 1011, reason: 'ready failed: no ticket for this session' })
  assert.deepEqual(srv.received, [], 'nothing was sent: the queue held')
})

test('ready: a ready step that never answers times out after readyTimeout: error, 1011, a failed attempt; its late answer is ignored', async (t) => {
  const srv = await startAuthServer('ack')
  t.after(() => srv.stop())
  // The first connection's step answers right after its timeout is reported
  // (before that connection's close completes); later ones never answer.
  let answerFirst
  const firstAnswered = new Promise((resolve) => (answerFirst = resolve))
  let calls = 0
  const rws = new ReconnectingWebSocket(srv.url, {
    reconnect: backoff,
    readyTimeout: 50,
    ready: () => (++calls === 1 ? firstAnswered : new Promise(() => {})),
  })
  t.after(() => rws.close())
  const errors = []
  const closes = []
  let readies = 0
  rws.addEventListener('error', (e) => errors.push(e))
  rws.addEventListener('close', (e) => closes.push(e.code))
  rws.addEventListener('ready', () => readies++)
  rws.addEventListener('error', () => answerFirst(), { once: true })
  rws.send('held')
  const events = await reconnects(rws, 2)
  assert.deepEqual(events.map((e) => e.attempt), [1, 2], 'the backoff grows: each timeout is a failed attempt')
  assert.deepEqual(events.map((e) => e.code), [1011, 1011])
  assert.deepEqual(closes, [1011, 1011])
  assert.equal(errors[0].error.code, 'CLAWSOCK_READY_TIMEOUT')
  assert.match(errors[0].message, /ready function did not finish within 50 ms \(readyTimeout\).*1011/)
  assert.deepEqual(srv.closes[0], { code: 1011, reason: 'ready timed out after 50 ms' })
  assert.equal(readies, 0, 'the first step\'s late answer did not make that (closed) connection ready')
  assert.deepEqual(srv.received, [], 'nothing was sent: the queue held')
})

test('ready: readyTimeout is checked, and needs a ready function', () => {
  assert.throws(() => new ReconnectingWebSocket('ws://127.0.0.1:1', { ready: () => {}, readyTimeout: -1 }),
    /ReconnectingWebSocket option 'readyTimeout' must be a non-negative number of milliseconds \(0: no limit\), got -1/)
  assert.throws(() => new ReconnectingWebSocket('ws://127.0.0.1:1', { readyTimeout: 1000 }),
    /ReconnectingWebSocket option 'readyTimeout' limits the ready step, and there is none/)
})

test('ready: must be a function', () => {
  assert.throws(() => new ReconnectingWebSocket('ws://127.0.0.1:1', { ready: true }),
    /ReconnectingWebSocket option 'ready' must be a function \(socket\) => Promise<void>/)
})

// ------------------------------------------------------------------ signal

test('signal: must be an AbortSignal, on every class', () => {
  assert.throws(() => new WebSocket('ws://127.0.0.1:1', { signal: 'stop' }), /WebSocket option 'signal' must be an AbortSignal/)
  assert.throws(() => new ReconnectingWebSocket('ws://127.0.0.1:1', { signal: {} }), /ReconnectingWebSocket option 'signal' must be an AbortSignal/)
  assert.throws(() => new GatewayClient({ url: 'ws://127.0.0.1:1', signal: 1 }), /GatewayClient option 'signal' must be an AbortSignal/)
})

test('signal: an already-aborted signal closes each client at once', async () => {
  const signal = AbortSignal.abort()
  const ws = new WebSocket('ws://127.0.0.1:1', { signal })
  assert.equal(ws.readyState, WebSocket.CLOSING)
  const close = await once(ws, 'close')
  assert.equal(close.code, 1006)
  assert.equal(ws.readyState, WebSocket.CLOSED)

  const rws = new ReconnectingWebSocket('ws://127.0.0.1:1', { signal })
  assert.equal(rws.state, 'closed')
  const term = await once(rws, 'terminal')
  assert.equal(term.kind, 'user-closed')

  const gw = new GatewayClient({ url: 'ws://127.0.0.1:1', signal })
  const end = await once(gw, 'close')
  assert.equal(end.kind, 'user-closed')
  assert.equal(gw.state, 'closed')
})

test('signal: aborting works like close(), and the listener is removed on close', async (t) => {
  const srv = await startAuthServer('ack')
  t.after(() => srv.stop())

  const ac1 = new AbortController()
  const ws = new WebSocket(srv.url, { signal: ac1.signal })
  await once(ws, 'open')
  assert.equal(getEventListeners(ac1.signal, 'abort').length, 1)
  ac1.abort()
  const close = await once(ws, 'close')
  assert.equal(close.code, 1005, 'close() without a code')
  assert.equal(getEventListeners(ac1.signal, 'abort').length, 0)

  const ac2 = new AbortController()
  const rws = new ReconnectingWebSocket(srv.url, { signal: ac2.signal })
  await once(rws, 'open')
  ac2.abort()
  assert.equal((await once(rws, 'terminal')).kind, 'user-closed')
  assert.equal(getEventListeners(ac2.signal, 'abort').length, 0)

  // A client closed by close() lets go of a long-lived signal too.
  const ac3 = new AbortController()
  const dead = await deadPort()
  const gw = new GatewayClient({ url: `ws://127.0.0.1:${dead}`, signal: ac3.signal, reconnect: { initialDelay: 10_000 } })
  gw.on('error', () => {})
  await once(gw, 'reconnecting')
  ac3.abort()
  assert.equal((await once(gw, 'close')).kind, 'user-closed')
  assert.equal(getEventListeners(ac3.signal, 'abort').length, 0)
})
