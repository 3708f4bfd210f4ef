'use strict'
// GatewayClient against a REAL OpenClaw gateway (openclaw@2026.9.6 on Node 24,
// installed by scripts/setup-openclaw.sh). No sleeps and no timing thresholds:
// waits are on client events; attempts are counted from the gateway's own log
// (gw.connectionCount(), timing-free). Tokens and keys are never printed.
//
// The real gateway ticks every 30 s: a watcher client connects first and the
// tick test (before the restart test) waits for its first tick, so the wait
// overlaps the other tests. The watchdog firing, seq gaps and faster ticks
// are covered in gateway-fixture.test.js; outbound-frame schema validation
// is there too (it needs the fixture's frame log).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { GatewayClient, DeviceIdentity } = require('../index.js')
const { startGateway } = require('./harness/openclaw.js')

let gw
const clients = []
let dir

function make(opts = {}) {
  const c = new GatewayClient({ url: gw.url, token: gw.token, ...opts })
  clients.push(c)
  return c
}

function next(client, name, pred = () => true) {
  return new Promise((resolve) => {
    const fn = (...args) => {
      if (!pred(...args)) return
      client.off(name, fn)
      resolve(args[0])
    }
    client.on(name, fn)
  })
}

let watcher
const watched = { ticks: [], disconnects: [], gaps: [], firstTick: null, hello: null }

test.before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-gw-real-'))
  gw = await startGateway()
  watcher = make({ scopes: ['operator.read'] })
  watched.firstTick = next(watcher, 'tick')
  watcher.on('event', (ev) => { if (ev.event === 'tick') watched.ticks.push(ev) })
  watcher.on('disconnect', (d) => watched.disconnects.push(d))
  watcher.on('gap', (g) => watched.gaps.push(g))
  watched.hello = await watcher.ready()
})

test.after(async () => {
  await Promise.all(clients.map((c) => c.close()))
  if (gw) await gw.dispose()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

test('token auth as gateway-client/backend with operator.read: health and status', async () => {
  const c = make({ clientName: 'gateway-client', mode: 'backend', scopes: ['operator.read'] })
  const hello = await c.ready()
  assert.equal(hello.protocol, 4)
  assert.equal(typeof hello.server.version, 'string')
  assert.ok(hello.features.methods.includes('health'))
  assert.deepEqual(hello.auth.scopes, ['operator.read'])
  assert.ok(hello.policy.maxPayload > 0 && hello.policy.tickIntervalMs > 0)
  assert.ok(c.stateVersion && typeof c.stateVersion.health === 'number')
  const health = await c.request('health')
  assert.equal(typeof health, 'object')
  const status = await c.request('status')
  assert.equal(typeof status, 'object')
  // A method outside the granted scopes is a clean RPC error; the connection stays.
  const e = await c.request('device.pair.list').catch((x) => x)
  assert.equal(e.name, 'GatewayError')
  assert.equal(e.code, 'FORBIDDEN')
  assert.equal(e.method, 'device.pair.list')
  assert.equal(c.state, 'ready')
  assert.equal(c.stats.health.count, 1)
  await c.close()
})

test('device identity as cli/cli: silent pairing, stored token, then the device token alone', async () => {
  const keyPath = path.join(dir, 'device.json')
  const storePath = path.join(dir, 'tokens.json')
  const id = DeviceIdentity.loadOrCreate(keyPath)
  const c1 = make({ identity: id, tokenStorePath: storePath, clientName: 'cli', mode: 'cli', scopes: ['operator.read', 'operator.write'] })
  const hello = await c1.ready()
  assert.equal(hello.auth.deviceTokenIssued, true, 'silently paired on loopback')
  assert.equal(hello.auth.deviceToken, undefined)
  const doc = JSON.parse(fs.readFileSync(storePath, 'utf8'))
  assert.equal(fs.statSync(storePath).mode & 0o777, 0o600)
  const entry = doc.tokens.find((t) => t.deviceId === id.deviceId && t.role === 'operator')
  assert.ok(entry && typeof entry.token === 'string' && entry.token.length > 20)
  assert.equal(entry.gateway, gw.url)
  await c1.close()

  const c2 = make({ token: undefined, identity: keyPath, tokenStorePath: storePath, clientName: 'cli', mode: 'cli' })
  const hello2 = await c2.ready()
  assert.equal(hello2.auth.method, 'device-token')
  assert.deepEqual(hello2.auth.scopes, entry.scopes)
  assert.equal(typeof (await c2.request('status')), 'object')
  await c2.close()
})

test('wrong token pauses with AUTH_TOKEN_MISMATCH and makes no further attempts', async () => {
  const before = await gw.connectionCount()
  const c = make({ token: 'definitely-not-the-token-0000' })
  const paused = await next(c, 'paused')
  assert.equal(paused.detailCode, 'AUTH_TOKEN_MISMATCH')
  assert.equal(paused.code, 1008)
  assert.match(paused.nextStep, /token/)
  assert.ok(!JSON.stringify(paused).includes(gw.token))
  assert.equal(c.state, 'paused')
  await assert.rejects(c.ready(), (e) => e.code === 'CONNECT_PAUSED')
  await assert.rejects(c.request('health'), (e) => e.code === 'CONNECT_PAUSED')
  assert.equal((await gw.connectionCount()) - before, 1)
  await c.close()
  assert.equal((await gw.connectionCount()) - before, 1)
})

test('50 concurrent health requests all resolve, each on its own id', async () => {
  const c = make({ scopes: ['operator.read'] })
  await c.ready()
  const results = await Promise.all(Array.from({ length: 50 }, () => c.request('health')))
  assert.equal(results.length, 50)
  for (const r of results) assert.equal(typeof r, 'object')
  // Mixed methods interleaved on one connection land on the right promises.
  const mixed = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request(i % 2 ? 'status' : 'last-heartbeat').then((v) => [i, v])))
  for (const [i, v] of mixed) {
    if (i % 2) assert.equal(typeof v, 'object')
  }
  assert.equal(c.stats.health.count, 50)
  assert.equal(c.stats.health.errors, 0)
  assert.equal(c.pendingRequests, 0)
  await c.close()
})

test('oversized request is rejected locally; the connection and other requests carry on', async () => {
  const c = make({ scopes: ['operator.read'] })
  const hello = await c.ready()
  let disconnects = 0
  c.on('disconnect', () => disconnects++)
  const big = 'x'.repeat(hello.policy.maxPayload + 1024)
  const [tooBig, ok1, ok2] = await Promise.allSettled([c.request('health', { big }), c.request('health'), c.request('status')])
  assert.equal(tooBig.status, 'rejected')
  assert.equal(tooBig.reason.code, 'PAYLOAD_TOO_LARGE')
  assert.match(tooBig.reason.message, /maxPayload/)
  assert.equal(ok1.status, 'fulfilled')
  assert.equal(ok2.status, 'fulfilled')
  assert.equal(c.state, 'ready')
  await c.request('health')
  assert.equal(disconnects, 0)
  await c.close()
})

test('the real tick: it arrives with a seq within the watchdog window, and the client stays connected', async () => {
  const payload = await watched.firstTick
  assert.equal(typeof payload.ts, 'number')
  const [tick] = watched.ticks
  assert.equal(tick.event, 'tick')
  assert.ok(Number.isInteger(tick.seq) && tick.seq >= 1, `tick seq ${tick.seq}`)
  assert.equal(watched.hello.policy.tickIntervalMs, 30000)
  assert.deepEqual(watched.disconnects, [], 'no watchdog close or reconnect before the first tick')
  assert.deepEqual(watched.gaps, [])
  assert.equal(watcher.state, 'ready')
  assert.equal(watcher.hello.server.connId, watched.hello.server.connId, 'still the first connection')
  assert.equal(typeof (await watcher.request('health')), 'object')
  await watcher.close()
})

test('gateway restart: pending requests fail cleanly, the client re-handshakes, new requests work', async () => {
  const c = make({ scopes: ['operator.read'], reconnect: { initialDelayMs: 200, maxDelayMs: 2000 } })
  const first = await c.ready()
  const connId = first.server.connId
  const disconnected = next(c, 'disconnect')
  const readyAgain = next(c, 'state', (s) => s === 'ready')
  const restarting = gw.restart()
  // Requests around the restart: each settles (answered, or failed with a close), none hangs.
  const around = Array.from({ length: 10 }, () => c.request('health', undefined, { timeoutMs: null }).then(() => 'ok', (e) => e.code))
  const d = await disconnected
  assert.ok([1012, 1006, 1001].includes(d.code), `close code ${d.code}`)
  await restarting
  await readyAgain
  assert.notEqual(c.hello.server.connId, connId, 'a new handshake')
  // CLOSED: in flight when the socket closed; UNAVAILABLE: answered by the stopping gateway.
  for (const r of await Promise.all(around)) assert.ok(['ok', 'CLOSED', 'UNAVAILABLE'].includes(r), r)
  assert.equal(typeof (await c.request('health')), 'object')
  await c.close()
})
