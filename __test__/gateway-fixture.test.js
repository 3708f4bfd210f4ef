'use strict'
// GatewayClient against the fixture gateway (__test__/peers/fixture-gateway.js):
// the cases the real gateway cannot produce on demand. No sleeps and no timing
// thresholds: every wait is on an event or on fixture state; delays are
// checked as bounds on the values the client reports.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { GatewayClient, GatewayError, DeviceIdentity } = require('../index.js')
const { startFixtureGateway } = require('./harness/fixture-gateway.js')
const { validateFrame } = require('./harness/schema.js')

const TOKEN = 'fixture-token-7f3a9c'

/** Resolves with the first `name` event whose args pass `pred`. */
function next(client, name, pred = () => true) {
  return new Promise((resolve) => {
    const fn = (...args) => {
      if (!pred(...args)) return
      client.off(name, fn)
      resolve(args.length > 1 ? args : args[0])
    }
    client.on(name, fn)
  })
}

async function withFixture(knobs, fn) {
  const fx = await startFixtureGateway({ token: TOKEN, tickIntervalMs: 200, ...knobs })
  const clients = []
  const make = (opts = {}) => {
    const c = new GatewayClient({ url: fx.url, token: TOKEN, ...opts })
    clients.push(c)
    return c
  }
  try {
    await fn(fx, make)
  } finally {
    await Promise.all(clients.map((c) => c.close()))
    await fx.stop()
  }
}

const framesOf = async (fx, conn) => (await fx.frames()).filter((f) => f.conn === conn).map((f) => f.frame)

test('requests made before hello-ok are held: connect is the first frame', async () => {
  await withFixture({}, async (fx, make) => {
    const c = make()
    assert.equal(c.state, 'connecting')
    const early = [c.request('echo', { n: 1 }), c.request('echo', { n: 2 }), c.request('health')]
    const results = await Promise.all(early)
    assert.deepEqual(results.slice(0, 2), [{ n: 1 }, { n: 2 }])
    assert.equal(c.state, 'ready')
    const conns = await fx.connections()
    assert.equal(conns.length, 1)
    const frames = await framesOf(fx, conns[0].index)
    assert.deepEqual(frames.map((f) => f.method), ['connect', 'echo', 'echo', 'health'])
  })
})

test('responses are matched by id, out of order; two-stage agent reply', async () => {
  await withFixture({}, async (fx, make) => {
    const c = make()
    await c.ready()
    const held = c.request('hold', { key: 'k1' })
    const many = Array.from({ length: 50 }, (_, i) => c.request('echo', { i }))
    assert.deepEqual(await Promise.all(many), Array.from({ length: 50 }, (_, i) => ({ i })))
    // release answers itself first, then the held request: out of order on the wire.
    await c.request('release', { key: 'k1' })
    await held
    const accepted = []
    const final = await c.request('agent', { q: 1 }, { expectFinal: true, onAccepted: (p) => accepted.push(p.status) })
    assert.deepEqual(accepted, ['accepted'])
    assert.equal(final.status, 'ok')
    // Without expectFinal the accepted answer is the result.
    const first = await c.request('agent', { q: 2 })
    assert.equal(first.status, 'accepted')
    const ids = (await framesOf(fx, (await fx.connections())[0].index)).filter((f) => f.type === 'req').map((f) => f.id)
    assert.equal(new Set(ids).size, ids.length, 'request ids are unique')
  })
})

test('server errors, timeouts and aborts are GatewayErrors', async () => {
  await withFixture({}, async (fx, make) => {
    const c = make()
    await c.ready()
    const e1 = await c.request('fail', { code: 'UNAVAILABLE', message: 'busy', retryable: true, retryAfterMs: 250, details: { code: 'X' } }).catch((e) => e)
    assert.ok(e1 instanceof GatewayError)
    assert.equal(e1.code, 'UNAVAILABLE')
    assert.equal(e1.message, 'busy')
    assert.equal(e1.retryable, true)
    assert.equal(e1.retryAfterMs, 250)
    assert.deepEqual(e1.details, { code: 'X' })
    assert.equal(e1.method, 'fail')
    const e2 = await c.request('hold', { key: 'never' }, { timeoutMs: 30 }).catch((e) => e)
    assert.equal(e2.code, 'TIMEOUT')
    assert.equal(e2.method, 'hold')
    const ac = new AbortController()
    const p = c.request('hold', { key: 'never2' }, { signal: ac.signal })
    ac.abort()
    const e3 = await p.catch((e) => e)
    assert.equal(e3.name, 'AbortError')
    assert.equal(e3.code, 'ABORTED')
    assert.equal(c.state, 'ready')
    const stats = c.stats
    assert.equal(stats.fail.errors, 1)
    assert.equal(stats.hold.count, 2)
    assert.ok(stats.fail.p50Ms >= 0 && stats.fail.avgMs >= 0)
  })
})

test('pending requests fail with the close code and reason; the client reconnects', async () => {
  await withFixture({}, async (fx, make) => {
    const c = make()
    await c.ready()
    const pending = c.request('hold', { key: 'x' }, { timeoutMs: null })
    const disc = next(c, 'disconnect')
    const back = next(c, 'state', (s) => s === 'ready')
    await fx.closeAll(1012, 'service restart')
    const err = await pending.catch((e) => e)
    assert.equal(err.code, 'CLOSED')
    assert.match(err.message, /\(1012\): service restart/)
    const d = await disc
    assert.equal(d.code, 1012)
    assert.equal(d.byServer, true)
    await back
    assert.deepEqual(await c.request('echo', { ok: 1 }), { ok: 1 })
  })
})

test('tick watchdog closes with 4000 "tick timeout", then reconnects', async () => {
  await withFixture({ tickIntervalMs: 100 }, async (fx, make) => {
    const c = make()
    const tick = next(c, 'tick')
    await c.ready()
    const [payload, frame] = await tick
    assert.equal(typeof payload.ts, 'number')
    assert.equal(typeof frame.seq, 'number', 'tick carries a seq')
    const disc = next(c, 'disconnect')
    await fx.set({ tick: false })
    const d = await disc
    assert.equal(d.code, 4000)
    assert.equal(d.reason, 'tick timeout')
    assert.equal(d.byServer, false)
    await fx.set({ tick: true })
    await next(c, 'state', (s) => s === 'ready')
    await fx.waitFor(async () => (await fx.connections()).some((r) => r.closeCode === 4000), { what: 'fixture saw close 4000' })
  })
})

test('seq gaps and duplicates are reported; stateVersion is seeded from hello', async () => {
  await withFixture({ tickIntervalMs: 100 }, async (fx, make) => {
    const c = make()
    await c.ready()
    await next(c, 'tick')
    const gap = next(c, 'gap')
    await fx.set({ gap: 3 })
    const g = await gap
    assert.equal(g.received - g.expected, 3)
    const dup = next(c, 'seq', (s) => s.kind === 'duplicate')
    await fx.set({ duplicate: true })
    const d = await dup
    assert.equal(d.received, d.last)
    // Seeded from hello-ok snapshot.stateVersion (these events carry none).
    assert.deepEqual(c.stateVersion, c.hello.snapshot.stateVersion)
  })
})

test('stateVersion on events: newer counters update the client (max of each), older ones do not', async () => {
  await withFixture({}, async (fx, make) => {
    const c = make()
    const hello = await c.ready()
    const seeded = hello.snapshot.stateVersion
    assert.deepEqual(c.stateVersion, seeded)
    const changes = []
    c.on('stateVersion', (sv) => changes.push(sv))

    const first = next(c, 'stateVersion')
    const presence = next(c, 'presence')
    await fx.emit('presence', { n: 1 }, { presence: seeded.presence + 4, health: seeded.health })
    const [sv1, [payload, ev]] = await Promise.all([first, presence])
    assert.deepEqual(payload, { n: 1 })
    assert.deepEqual(ev.stateVersion, { presence: seeded.presence + 4, health: seeded.health })
    assert.deepEqual(sv1, { presence: seeded.presence + 4, health: seeded.health })

    // An older presence counter changes nothing; the health bump after it
    // keeps the higher presence.
    const second = next(c, 'stateVersion')
    await fx.emit('presence', { n: 2 }, { presence: seeded.presence + 1, health: seeded.health })
    await fx.emit('health', {}, { presence: 0, health: seeded.health + 2 })
    const want = { presence: seeded.presence + 4, health: seeded.health + 2 }
    assert.deepEqual(await second, want)
    assert.deepEqual(changes, [sv1, want])
    assert.deepEqual(c.stateVersion, want)
  })
})

test('listeners: each is called once per event with its arguments; on/off/once during delivery take effect from the next event', async () => {
  await withFixture({}, async (fx, make) => {
    const c = make()
    await c.ready()
    const calls = []
    const a = function (payload, ev) { calls.push(['a', payload.n, ev.event, arguments.length, this === c]) }
    const late = (payload) => calls.push(['late', payload.n])
    const b = (payload) => {
      calls.push(['b', payload.n])
      if (payload.n === 1) {
        c.off('presence', a) // a was already called for this event
        c.on('presence', late) // called from the next event on
      }
    }
    const onceFn = (payload) => calls.push(['once', payload.n])
    c.on('presence', a).on('presence', a) // the same function twice is one listener
    c.on('presence', b)
    c.once('presence', onceFn)
    const states = []
    c.on('state', (...args) => states.push(args))
    assert.equal(c.listenerCount('presence'), 3)

    const second = next(c, 'presence', (p) => p.n === 2)
    await fx.emit('presence', { n: 1 })
    await fx.emit('presence', { n: 2 })
    await second
    assert.deepEqual(calls, [
      ['a', 1, 'presence', 2, true], ['b', 1], ['once', 1],
      ['b', 2], ['late', 2],
    ])
    assert.equal(c.listenerCount('presence'), 2)

    // off() also removes a once() listener by the function given to it.
    const never = () => calls.push(['never'])
    c.once('presence', never)
    c.off('presence', never)
    c.off('presence', b).off('presence', late)
    assert.equal(c.listenerCount('presence'), 0)
    const third = next(c, 'presence')
    await fx.emit('presence', { n: 3 })
    await third
    assert.equal(calls.length, 5)

    await c.close()
    assert.deepEqual(states.at(-1), ['closed', 'ready'])
  })
})

test('UNAVAILABLE + retryAfterMs (close 1013) shapes the reconnect delay', async () => {
  await withFixture({ reject: { kind: 'unavailable', retryAfterMs: 700, times: 1 } }, async (fx, make) => {
    // A computed backoff would be anywhere in [0, 60000] here; the hint gives [700, 840].
    const c = make({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 120_000 } })
    const disc = next(c, 'disconnect')
    const rec = next(c, 'reconnecting')
    const d = await disc
    assert.equal(d.code, 1013)
    const r = await rec
    assert.ok(r.delayMs >= 700 && r.delayMs <= 840, `delay ${r.delayMs}`)
    await c.ready()
    assert.equal((await fx.connections()).length, 2)
  })
})

test('shutdown restartExpectedMs shapes the reconnect delay', async () => {
  await withFixture({}, async (fx, make) => {
    const c = make({ reconnect: { initialDelayMs: 60_000, maxDelayMs: 120_000 } })
    await c.ready()
    const shut = next(c, 'shutdown')
    const rec = next(c, 'reconnecting')
    const restarted = fx.restart({ restartExpectedMs: 1500 })
    const [p] = await shut
    assert.equal(p.restartExpectedMs, 1500)
    const r = await rec
    assert.ok(r.delayMs >= 1500 && r.delayMs <= 1800, `delay ${r.delayMs}`)
    await restarted
    await next(c, 'state', (s) => s === 'ready')
    assert.deepEqual(await c.request('echo', { after: 'restart' }), { after: 'restart' })
  })
})

test('PAIRING_REQUIRED pauses with a next step; resume() connects again', async () => {
  await withFixture({ reject: { kind: 'pairing-required', requestId: 'req-42' } }, async (fx, make) => {
    const c = make()
    const paused = next(c, 'paused')
    // Made before hello-ok: held, then failed by the pause.
    const early = c.request('echo', { n: 1 }).catch((x) => x)
    await assert.rejects(c.ready(), (e) => e.code === 'CONNECT_PAUSED' && e.detailCode === 'PAIRING_REQUIRED')
    const p = await paused
    assert.equal(p.detailCode, 'PAIRING_REQUIRED')
    assert.equal(p.code, 1008)
    assert.match(p.nextStep, /openclaw devices approve req-42/)
    assert.equal(c.state, 'paused')
    for (const [e, method] of [[await early, 'echo'], [await c.request('health').catch((x) => x), 'health']]) {
      assert.equal(e.code, 'CONNECT_PAUSED')
      assert.equal(e.method, method)
      assert.equal(e.detailCode, 'PAIRING_REQUIRED')
    }
    assert.equal(c.pendingRequests, 0)
    assert.equal((await fx.connections()).length, 1, 'no reconnect while paused')
    await fx.set({ reject: null })
    c.resume()
    await c.ready()
    assert.equal((await fx.connections()).length, 2)
  })
})

test('wrong token pauses on AUTH_TOKEN_MISMATCH without retrying', async () => {
  await withFixture({}, async (fx, make) => {
    const c = make({ token: 'wrong-token-123456' })
    const p = await next(c, 'paused')
    assert.equal(p.detailCode, 'AUTH_TOKEN_MISMATCH')
    assert.equal(p.error.code, 'CONNECT_PAUSED')
    assert.equal((await fx.connections()).length, 1)
  })
})

test('device identity: signed connect, token stored per gateway, reconnect on the device token alone', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-gw-'))
  try {
    const keyPath = path.join(dir, 'device.json')
    const id = DeviceIdentity.generate()
    id.save(keyPath)
    assert.equal(fs.statSync(keyPath).mode & 0o777, 0o600)
    const loaded = DeviceIdentity.load(keyPath)
    assert.equal(loaded.deviceId, id.deviceId)
    assert.equal(loaded.publicKey, id.publicKey)
    assert.ok(!JSON.stringify(loaded).includes('privateKey'))
    const storePath = path.join(dir, 'tokens.json')
    await withFixture({}, async (fx, make) => {
      const c1 = make({ identity: loaded, tokenStorePath: storePath, clientName: 'cli', mode: 'cli' })
      const hello = await c1.ready()
      assert.equal(hello.auth.deviceTokenIssued, true)
      assert.equal(hello.auth.deviceToken, undefined, 'the device token is not handed to JS')
      const doc = JSON.parse(fs.readFileSync(storePath, 'utf8'))
      assert.equal(doc.tokens.length, 1)
      assert.equal(doc.tokens[0].deviceId, id.deviceId)
      assert.equal(doc.tokens[0].gateway, fx.url)
      await c1.close()
      const c2 = make({ token: undefined, identity: keyPath, tokenStorePath: storePath, clientName: 'cli', mode: 'cli' })
      await c2.ready()
      const conns = await fx.connections()
      const last = conns[conns.length - 1].connectParams
      assert.ok(last.auth.deviceToken && last.device && last.device.id === id.deviceId)
      assert.equal(validateFrame('ConnectParams', last).length, 0)
    })
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('outbound connect and req frames validate against protocol.schema.json', async () => {
  await withFixture({}, async (fx, make) => {
    const c = make({ identity: DeviceIdentity.generate(), clientName: 'cli', mode: 'cli', scopes: ['operator.read'], caps: ['tool-events'], displayName: 'clawsock test', instanceId: 'inst-1' })
    await c.ready()
    await c.request('health')
    await c.request('echo', { nested: { list: [1, 'two', null] } })
    await c.request('status', undefined)
    const frames = (await fx.frames()).map((f) => f.frame)
    const connect = frames.find((f) => f.method === 'connect')
    assert.deepEqual(validateFrame('connect', connect), [])
    assert.deepEqual(connect.params.scopes, ['operator.read'])
    assert.equal(connect.params.minProtocol, 3)
    assert.equal(connect.params.maxProtocol, 4)
    const reqs = frames.filter((f) => f.type === 'req' && f.method !== 'connect')
    assert.equal(reqs.length, 3)
    for (const r of reqs) assert.deepEqual(validateFrame('req', r), [], JSON.stringify(r))
  })
})

test('close() settles everything and lets the process exit', async () => {
  await withFixture({}, async (fx, make) => {
    const c = make()
    await c.ready()
    const held = c.request('hold', { key: 'z' }, { timeoutMs: null }).catch((x) => x)
    const closed = next(c, 'close')
    await c.close()
    const e = await held
    assert.equal(e.code, 'STOPPED')
    assert.equal((await closed).kind, 'user-closed')
    assert.equal(c.state, 'closed')
    await assert.rejects(c.ready(), (x) => x.code === 'STOPPED')
    await assert.rejects(c.request('health'), (x) => x.code === 'STOPPED')
    await fx.waitFor(async () => (await fx.connections())[0].closeCode === 1000, { what: 'clean close 1000' })
  })
})

test('options are checked synchronously', () => {
  assert.throws(() => new GatewayClient({ url: 'ftp://x' }), /invalid gateway URL/)
  assert.throws(() => new GatewayClient({ url: 'ws://127.0.0.1:9', clientName: 'ios-node' }), /client\.id/)
  assert.throws(() => new GatewayClient({ url: 'ws://127.0.0.1:9', scopes: 'operator.read' }), /scopes/)
  assert.throws(() => new GatewayClient({ url: 'ws://127.0.0.1:9', reconnect: { jitter: 'lots' } }), /jitter/)
})

test('a paused client does not hold the process open (and resume() would take it back)', async () => {
  // The child connects, gets PAIRING_REQUIRED, prints the pause, and never
  // calls close(): with no socket open, it must still exit by itself.
  const { runNode } = require('./helpers')
  const fx = await startFixtureGateway({ token: TOKEN, tickIntervalMs: 200, reject: { kind: 'pairing-required', requestId: 'req-7' } })
  try {
    const r = await runNode(`
      const { GatewayClient } = require('.');
      const c = new GatewayClient({ url: ${JSON.stringify(fx.url)}, token: ${JSON.stringify(TOKEN)} });
      c.on('paused', (p) => console.log('paused', p.detailCode));
      c.ready().catch((e) => console.log('ready rejected', e.code));
    `)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /ready rejected CONNECT_PAUSED/)
    assert.match(r.stdout, /paused PAIRING_REQUIRED/)
    assert.equal((await fx.connections()).length, 1)
  } finally {
    await fx.stop()
  }
})
