'use strict'
// clawsock/openclaw: runChannel(ctx, client) with a ctx shaped like
// OpenClaw's ChannelGatewayContext (abortSignal, log, getStatus/setStatus),
// against a real ws server on loopback. Assertions are on the sequence of
// published snapshots and log lines; every wait is on a status or an event.

const test = require('node:test')
const assert = require('node:assert/strict')
const { WebSocketServer } = require('ws')
const { WebSocket, ReconnectingWebSocket, GatewayClient } = require('..')
const { runChannel, redact, accountSnapshot } = require('../lib/openclaw.js')
const { deadPort, once } = require('./helpers')

const SECRET = 's3cret-t0ken-value'

/** A fake ChannelGatewayContext that records every snapshot and log line. */
function fakeCtx() {
  const ac = new AbortController()
  const statuses = []
  const lines = []
  const waiters = []
  let current = { accountId: 'default', configured: true }
  const ctx = {
    accountId: 'default',
    abortSignal: ac.signal,
    log: {
      info: (m) => lines.push(['info', m]),
      warn: (m) => lines.push(['warn', m]),
      error: (m) => lines.push(['error', m]),
      debug: (m) => lines.push(['debug', m]),
    },
    getStatus: () => current,
    setStatus: (next) => {
      current = next
      statuses.push(next)
      for (const w of waiters.filter((w) => w.pred(next))) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(next)
      }
    },
  }
  /** Resolves with the first snapshot (from now on, or the current one) that satisfies `pred`. */
  const until = (pred) => new Promise((resolve) => (pred(current) ? resolve(current) : waiters.push({ pred, resolve })))
  return { ctx, ac, statuses, lines, until, lifecycles: () => statuses.map((s) => s.lifecycle).filter((l, i, a) => l !== a[i - 1]) }
}

/** ws server: /echo echoes; /kick closes 4001 "Replaced" on open; /restart closes 1012 once, then echoes. */
async function startServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(wss, 'listening')
  let restarted = false
  wss.on('connection', (ws, req) => {
    const path = new URL(req.url, 'http://x').pathname
    if (path === '/kick') return ws.close(4001, 'Replaced')
    if (path === '/restart' && !restarted) {
      restarted = true
      return ws.close(1012, 'service restart')
    }
    ws.on('message', (d, binary) => ws.send(d, { binary }))
  })
  return {
    url: `ws://127.0.0.1:${wss.address().port}`,
    stop: () => new Promise((resolve) => {
      for (const c of wss.clients) c.terminate()
      wss.close(resolve)
    }),
  }
}

const fast = { initialDelay: 10, maxDelay: 20 }

test('ReconnectingWebSocket: starting -> ready -> recovering -> ready -> stopped; traffic and disconnects are in the snapshot; abort resolves', async (t) => {
  const srv = await startServer()
  t.after(() => srv.stop())
  const f = fakeCtx()
  const rws = new ReconnectingWebSocket(`${srv.url}/restart?token=${SECRET}`, { reconnect: fast, headers: { Authorization: `Bearer ${SECRET}` } })
  const run = runChannel(f.ctx, rws, { activityInterval: 0 })
  assert.equal(f.statuses[0].lifecycle, 'starting')
  assert.equal(f.statuses[0].running, true)
  assert.equal(f.statuses[0].configured, true, 'the snapshot keeps what getStatus() had')

  const ready = await f.until((s) => s.lifecycle === 'ready' && s.lastDisconnect)
  assert.equal(ready.connected, true)
  assert.equal(typeof ready.lastConnectedAt, 'number')
  assert.deepEqual({ ...ready.lastDisconnect, at: 0 }, { at: 0, status: 1012, error: 'service restart' })
  assert.equal(ready.reconnectAttempts, 0)
  const recovering = f.statuses.filter((s) => s.lifecycle === 'recovering').at(-1)
  assert.equal(recovering.reconnectAttempts, 1)
  assert.equal(recovering.connected, false)

  rws.send('ping me')
  const inbound = await f.until((s) => s.lastInboundAt)
  assert.equal(typeof inbound.lastOutboundAt, 'number')
  assert.ok(inbound.lastInboundAt >= inbound.lastOutboundAt)

  f.ac.abort()
  await run
  const last = f.statuses.at(-1)
  assert.equal(last.lifecycle, 'stopped')
  assert.equal(last.running, false)
  assert.equal(last.connected, false)
  assert.equal(rws.state, 'closed')
  assert.deepEqual(f.lifecycles(), ['starting', 'ready', 'recovering', 'ready', 'stopped'])
  const all = JSON.stringify([f.lines, f.statuses])
  assert.ok(!all.includes(SECRET), 'no token in logs or status')
  assert.ok(f.lines.some(([level, m]) => level === 'warn' && m === 'clawsock: disconnected (code 1012, service restart)'), JSON.stringify(f.lines))
  assert.ok(f.lines.some(([, m]) => m === 'clawsock: reconnecting in 10 ms (attempt 1)' || /^clawsock: reconnecting in \d+ ms \(attempt 1\)$/.test(m)))
})

test('4001 "Replaced": lifecycle blocked with the plain message; the promise waits for the abort', async (t) => {
  const srv = await startServer()
  t.after(() => srv.stop())
  const f = fakeCtx()
  const rws = new ReconnectingWebSocket(`${srv.url}/kick`, { reconnect: fast })
  let settled = false
  const run = runChannel(f.ctx, rws, { name: 'botciv' }).then(() => (settled = true))
  const blocked = await f.until((s) => s.lifecycle === 'blocked')
  assert.equal(blocked.connected, false)
  assert.equal(blocked.running, false)
  assert.equal(blocked.terminalDisconnect, true)
  assert.equal(blocked.stateReason, 'final-code')
  assert.match(blocked.lastError, /Another client connected with the same identity/)
  assert.equal(blocked.lastDisconnect.status, 4001)
  assert.ok(f.lines.some(([level, m]) => level === 'error' && m.startsWith('botciv: blocked: ') && m.includes('4001')))
  // Still running from the host's view: the promise has not settled. It
  // settles on the abort, and only then.
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(settled, false)
  f.ac.abort()
  await run
  assert.equal(f.statuses.at(-1).lifecycle, 'stopped')
  assert.match(f.statuses.at(-1).lastError, /Another client connected/)
})

test('ready option: lifecycle ready only once the ready step resolves', async (t) => {
  const srv = await startServer()
  t.after(() => srv.stop())
  const f = fakeCtx()
  let release
  const gate = new Promise((resolve) => (release = resolve))
  const rws = new ReconnectingWebSocket(`${srv.url}/echo`, { ready: () => gate })
  const run = runChannel(f.ctx, rws)
  await once(rws, 'open')
  assert.equal(f.statuses.at(-1).lifecycle, 'starting')
  assert.equal(f.statuses.at(-1).connected, false)
  release()
  await f.until((s) => s.lifecycle === 'ready' && s.connected)
  f.ac.abort()
  await run
})

test('WebSocket: ready on open; an already-aborted signal stops at once', async (t) => {
  const srv = await startServer()
  t.after(() => srv.stop())
  const f = fakeCtx()
  const ws = new WebSocket(`${srv.url}/echo`)
  const run = runChannel(f.ctx, ws)
  await f.until((s) => s.lifecycle === 'ready')
  f.ac.abort()
  await run
  assert.deepEqual(f.lifecycles(), ['starting', 'ready', 'stopped'])

  const g = fakeCtx()
  g.ac.abort()
  const ws2 = new WebSocket(`${srv.url}/echo`)
  await runChannel(g.ctx, ws2)
  assert.equal(ws2.readyState, WebSocket.CLOSED)
  assert.equal(g.statuses.at(-1).lifecycle, 'stopped')
})

test('GatewayClient: recovering while the gateway is unreachable, stopped on abort, errors redacted', async () => {
  const f = fakeCtx()
  const port = await deadPort()
  const gw = new GatewayClient({ url: `ws://127.0.0.1:${port}`, token: SECRET, reconnect: { initialDelay: 10_000 } })
  const run = runChannel(f.ctx, gw, { secrets: [SECRET] })
  const rec = await f.until((s) => s.lifecycle === 'recovering')
  assert.equal(rec.reconnectAttempts, 1)
  assert.match(rec.lastError, /connection refused/)
  f.ac.abort()
  await run
  assert.equal(f.statuses.at(-1).lifecycle, 'stopped')
  assert.equal(gw.state, 'closed')
  assert.ok(!JSON.stringify([f.lines, f.statuses]).includes(SECRET))
})

test('accountSnapshot: the fields runChannel keeps, for plugin.status.buildAccountSnapshot', () => {
  const runtime = { accountId: 'a1', lifecycle: 'blocked', lastError: 'code 4001', lastDisconnect: { at: 1, status: 4001 }, secretThing: 'x', connected: false }
  assert.deepEqual(accountSnapshot(runtime), { accountId: 'a1', lifecycle: 'blocked', lastError: 'code 4001', lastDisconnect: { at: 1, status: 4001 }, connected: false })
  assert.deepEqual(accountSnapshot(undefined, 'b'), { accountId: 'b' })
})

test('redact: credentials never reach a log line', () => {
  assert.equal(redact('GET wss://u:pw@h/x?token=abc&room=1 failed'), 'GET wss://***@h/x?token=***&room=1 failed')
  assert.equal(redact('Authorization: Bearer abc.def-ghi'), 'Authorization: Bearer ***')
  assert.equal(redact('api_key=zzz; password=hunter2 ok'), 'api_key=***; password=*** ok')
  assert.equal(redact('sent my-long-secret', ['my-long-secret']), 'sent ***')
})

test('runChannel: bad inputs are TypeErrors that say what is expected', () => {
  const ac = new AbortController()
  const ws = new WebSocket('ws://127.0.0.1:1')
  ws.onerror = () => {}
  t_throws(() => runChannel(null, ws), /ctx must be the channel context/)
  t_throws(() => runChannel({ abortSignal: ac.signal }, ws), /ctx.setStatus must be a function/)
  t_throws(() => runChannel({ abortSignal: ac.signal, setStatus() {}, log: console.log }, ws), /ctx.log must be a ChannelLogSink/)
  t_throws(() => runChannel({ abortSignal: ac.signal, setStatus() {} }, {}), /client must be a clawsock WebSocket, ReconnectingWebSocket or GatewayClient/)
  t_throws(() => runChannel({ abortSignal: ac.signal, setStatus() {} }, ws, { secret: [] }), /unknown option 'secret'/)
  ws.close()
})

function t_throws(fn, re) {
  assert.throws(fn, (err) => err instanceof TypeError && re.test(err.message))
}
