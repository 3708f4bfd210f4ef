'use strict'
// Failed upgrades that will not fix themselves stop (exactly one upgrade,
// then `terminal`); 429/503 wait for `Retry-After`; url, headers and
// protocols functions give every attempt fresh credentials. Real peers: the
// project's fault server (plain and TLS) and the fixture gateway.

const test = require('node:test')
const assert = require('node:assert/strict')
const { ReconnectingWebSocket, GatewayClient } = require('..')
const { startFaultServer } = require('./harness/fault')
const { startFixtureGateway } = require('./harness/fixture-gateway')
const { makeTestPki } = require('./harness/tls')
const { deadPort } = require('./helpers')

/** Records every event of a ReconnectingWebSocket, in order, until `terminal`. */
function record(rws) {
  const log = []
  const done = new Promise((resolve) => {
    for (const type of ['open', 'error', 'close', 'reconnecting', 'terminal']) {
      rws.addEventListener(type, (e) => {
        log.push(e)
        if (type === 'terminal') resolve(log)
      })
    }
  })
  return { log, done }
}

function nextEvent(target, type) {
  return new Promise((resolve) => target.addEventListener(type, resolve, { once: true }))
}

const upgrades = (fs, path) => fs.events.filter((e) => e.type === 'upgrade' && e.path === path)

let fs
test.before(async () => { fs = await startFaultServer() })
test.after(() => fs.stop())

for (const status of [400, 401, 403, 404, 405, 410, 426]) {
  test(`an upgrade answered ${status} is final: one upgrade, then terminal 'handshake-rejected'`, async () => {
    const path = `/reject/${status}`
    const before = upgrades(fs, path).length
    const rws = new ReconnectingWebSocket(fs.url(path), { reconnect: { initialDelay: 10, maxDelay: 20 } })
    const { log, done } = record(rws)
    await done
    assert.deepEqual(log.map((e) => e.type), ['error', 'terminal'])
    assert.equal(log[0].error.status, status)
    assert.equal(log[0].error.finalByDefault, true)
    const t = log[1]
    assert.equal(t.kind, 'handshake-rejected')
    assert.equal(t.status, status)
    assert.equal(t.code, 1006)
    assert.match(t.message, new RegExp(`HTTP ${status}`))
    assert.match(t.message, /not reconnecting/)
    assert.match(t.message, /Next step:/)
    assert.equal(upgrades(fs, path).length - before, 1, 'exactly one upgrade')
    assert.equal(rws.state, 'closed')
  })
}

test('isFinalHandshakeError overrides the default both ways', async () => {
  // 401 made retryable: it reconnects (and the predicate saw the error).
  const seen = []
  const a = new ReconnectingWebSocket(fs.url('/reject/401'), {
    reconnect: { initialDelay: 10, maxDelay: 20, maxRetries: 1 },
    isFinalHandshakeError: (e) => { seen.push([e.status, e.finalByDefault]); return false },
  })
  const ra = record(a)
  await ra.done
  assert.deepEqual(ra.log.map((e) => e.type), ['error', 'reconnecting', 'error', 'terminal'])
  assert.equal(ra.log[3].kind, 'retries-exhausted')
  assert.deepEqual(seen, [[401, true], [401, true]])
  // 500 made final.
  const b = new ReconnectingWebSocket(fs.url('/reject/500'), {
    reconnect: { initialDelay: 10, maxDelay: 20 },
    isFinalHandshakeError: (e) => e.status >= 500,
  })
  const rb = record(b)
  await rb.done
  assert.deepEqual(rb.log.map((e) => e.type), ['error', 'terminal'])
  assert.equal(rb.log[1].kind, 'handshake-rejected')
  assert.equal(rb.log[1].status, 500)
  // A predicate that throws: reported, and the default rule decides (401: final).
  const c = new ReconnectingWebSocket(fs.url('/reject/401'), {
    isFinalHandshakeError: () => { throw new Error('predicate bug') },
  })
  const rc = record(c)
  const errors = []
  c.addEventListener('error', (e) => errors.push(e.message))
  await rc.done
  assert.equal(rc.log.at(-1).kind, 'handshake-rejected')
  assert.ok(errors.some((m) => /isFinalHandshakeError function threw \(predicate bug\)/.test(m)), errors.join('\n'))
})

test('429 with Retry-After: 2 waits 2 s (the server set the delay), never less than backoff', async () => {
  const rws = new ReconnectingWebSocket(fs.url('/reject/429?retryAfter=2'), { reconnect: { initialDelay: 10, maxDelay: 50, jitter: 'none' } })
  const r = await nextEvent(rws, 'reconnecting')
  assert.equal(r.fromServer, true)
  assert.equal(r.retryAfter, 2000)
  assert.equal(r.delay, 2000)
  assert.equal(r.lastClose.code, 1006)
  rws.close()
  // Longer backoff than the server asked: the backoff wins.
  const slow = new ReconnectingWebSocket(fs.url('/reject/503?retryAfter=1'), { reconnect: { initialDelay: 5000, maxDelay: 5000, jitter: 'none' } })
  const s = await nextEvent(slow, 'reconnecting')
  assert.equal(s.fromServer, false)
  assert.equal(s.retryAfter, null)
  assert.equal(s.delay, 5000)
  slow.close()
})

test('other 5xx keep backing off', async () => {
  const rws = new ReconnectingWebSocket(fs.url('/reject/500'), { reconnect: { initialDelay: 10, maxDelay: 20, maxRetries: 2 } })
  const { log, done } = record(rws)
  await done
  assert.deepEqual(log.map((e) => e.type), ['error', 'reconnecting', 'error', 'reconnecting', 'error', 'terminal'])
  assert.equal(log.at(-1).kind, 'retries-exhausted')
  assert.ok(log.filter((e) => e.type === 'reconnecting').every((e) => e.fromServer === false))
})

test('a certificate that fails verification is final, with the TLS reason', async () => {
  const pki = makeTestPki()
  const fss = await startFaultServer({ tls: { cert: pki.certPem, key: pki.keyPem } })
  try {
    const rws = new ReconnectingWebSocket(fss.url('/echo'), { reconnect: { initialDelay: 10, maxDelay: 20 } })
    const { log, done } = record(rws)
    await done
    assert.deepEqual(log.map((e) => e.type), ['error', 'terminal'])
    assert.equal(log[1].kind, 'handshake-rejected')
    assert.equal(log[1].status, undefined)
    assert.match(log[1].message, /certificate/)
    assert.match(log[1].message, /unknown issuer/)
  } finally {
    await fss.stop()
  }
})

test('fresh credentials: a url function is called before every attempt; only the latest token gets in', async () => {
  let n = 0
  const urls = []
  const rws = new ReconnectingWebSocket(() => {
    const u = fs.url(`/fresh?token=${++n}&accept=3`)
    urls.push(u)
    return u
  }, { reconnect: { initialDelay: 5, maxDelay: 10 } })
  const { log } = record(rws)
  const opens = []
  await new Promise((resolve) => rws.addEventListener('open', () => { opens.push(rws.url); if (opens.length === 3) resolve() }))
  const echoed = nextEvent(rws, 'message')
  rws.send('hello with token 3')
  assert.equal((await echoed).data, 'hello with token 3')
  const tokens = fs.events.filter((e) => e.type === 'upgrade' && e.path === '/fresh' && urls.some((u) => u.endsWith(e.url)))
    .map((e) => new URL(e.url, 'ws://x').searchParams.get('token'))
  assert.deepEqual(tokens, ['1', '2', '3'])
  assert.equal(opens[2], urls[2], 'url is the current attempt\'s')
  assert.deepEqual(log.filter((e) => e.type === 'close').map((e) => e.code), [4000, 4000])
  rws.close()
})

test('fresh credentials: headers and protocols functions; a throw fails that attempt with its own error', async () => {
  let n = 0
  const thrown = new Error('ticket service unavailable')
  const rws = new ReconnectingWebSocket(fs.url('/headers'), () => ['proto-' + n], {
    headers: () => {
      n++
      if (n === 1) throw thrown
      return { Authorization: `Bearer t-${n}` }
    },
    reconnect: { initialDelay: 5, maxDelay: 10 },
  })
  const first = await nextEvent(rws, 'error')
  assert.equal(first.error, thrown, 'the error is shown as it is')
  assert.equal(first.message, 'ticket service unavailable')
  const msg = await nextEvent(rws, 'message')
  const headers = JSON.parse(msg.data)
  assert.equal(headers.authorization, 'Bearer t-2')
  assert.equal(headers['sec-websocket-protocol'], 'proto-2')
  rws.close()
})

test('GatewayClient: an upgrade answered 401 is final, with one upgrade', async () => {
  const before = upgrades(fs, '/reject/401').length
  const c = new GatewayClient({ url: fs.url('/reject/401'), reconnect: { initialDelay: 10, maxDelay: 20 } })
  const closed = new Promise((resolve) => c.on('close', resolve))
  await assert.rejects(c.ready())
  const end = await closed
  assert.equal(end.kind, 'handshake-rejected')
  assert.equal(end.status, 401)
  assert.equal(upgrades(fs, '/reject/401').length - before, 1)
})

test('GatewayClient: url and token functions are called before every attempt', async () => {
  const TOKEN = 'fixture-token-1234567890'
  const fx = await startFixtureGateway({ token: TOKEN })
  const dead = `ws://127.0.0.1:${await deadPort()}`
  const calls = { url: 0, token: 0 }
  try {
    const c = new GatewayClient({
      url: async () => (++calls.url === 1 ? dead : fx.url),
      token: () => { calls.token++; return TOKEN },
      reconnect: { initialDelay: 5, maxDelay: 10 },
    })
    await c.ready()
    assert.deepEqual(calls, { url: 2, token: 2 })
    await c.close()
  } finally {
    await fx.stop()
  }
})
