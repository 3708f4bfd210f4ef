'use strict'
// ReconnectingWebSocket: the incident's kick war cannot happen by default,
// queued messages survive a server restart in order, flapping stops, queue
// limits hand every message back, and close() in any state lets the process
// exit. Every wait is on an event (or the bot_civ long-poll), never on time.

const test = require('node:test')
const assert = require('node:assert/strict')
const { ReconnectingWebSocket, TerminalEvent, ReconnectingEvent, DroppedEvent } = require('..')
const { kNative } = require('../lib/reconnecting.js')
const { startBotciv } = require('./harness/botciv')
const { startFaultServer } = require('./harness/fault')
const { deadPort, once, runNode, ROOT } = require('./helpers')

/** Records every event of a ReconnectingWebSocket, in order. */
function record(rws) {
  const log = []
  for (const type of ['open', 'message', 'error', 'close', 'reconnecting', 'terminal', 'dropped']) {
    rws.addEventListener(type, (e) => log.push(e))
  }
  return log
}

const types = (log) => log.map((e) => e.type)

const chat = (content) => JSON.stringify({ type: 'chat_message', content })

// 1. The incident: two clients with one identity.
for (const uvicorn of ['new', 'old']) {
  test(`bot_civ takeover (uvicorn ${uvicorn}): 4001 "Replaced" is final, no kick war`, async (t) => {
    const srv = await startBotciv({ uvicorn })
    t.after(() => srv.stop())
    const url = `${srv.url}/ws/1`
    const reconnect = { initialDelay: 50, maxDelay: 200 }

    const a = new ReconnectingWebSocket(url, { reconnect })
    const aLog = record(a)
    await once(a, 'open')
    await srv.waitFor('1', { accepted: 1, open: 1 })

    const b = new ReconnectingWebSocket(url, { reconnect })
    const [term] = await Promise.all([once(a, 'terminal'), once(b, 'open')])

    assert.ok(term instanceof TerminalEvent)
    assert.equal(term.kind, 'final-code')
    assert.equal(term.code, 4001)
    assert.equal(term.reason, 'Replaced')
    for (const words of [
      'code 4001',
      '"Replaced"',
      'Another client connected with the same identity',
      'the server closed this one',
      'This client is not reconnecting',
      'Stop the other client, or give this one its own identity',
    ]) {
      assert.ok(term.message.includes(words), `terminal message lacks ${JSON.stringify(words)}: ${term.message}`)
    }
    assert.deepEqual(types(aLog), ['open', 'close', 'terminal'])
    assert.equal(aLog[1].code, 4001)
    assert.deepEqual({ ...a.terminalReason }, { code: 4001, reason: 'Replaced', message: term.message, kind: 'final-code' })

    // No further attempt is possible: the terminal event is the driver's last
    // act, A is closed, its native handle is released, and it connected once.
    assert.equal(a.state, 'closed')
    assert.equal(a[kNative].released, true)
    assert.equal(a.stats.connects, 1)
    assert.equal(a.stats.reconnects, 0)
    assert.equal(a.send('after terminal'), false)

    // B does a full round trip after A's stop; the server still counts
    // exactly two connections for agent 1, and only B is open.
    b.send(chat('from B'))
    const reply = JSON.parse((await once(b, 'message')).data)
    assert.equal(reply.content, 'from B')
    const stats = await srv.waitFor('1', { messages: 1 })
    assert.equal(stats.accepted, 2)
    assert.equal(stats.open, 1)
    assert.deepEqual(stats.closes.map((c) => c.code), [4001])
    assert.equal(b.state, 'open')

    b.close()
    const bTerm = await once(b, 'terminal')
    assert.equal(bTerm.kind, 'user-closed')
    assert.equal(b[kNative].released, true)
  })
}

// 2. Server restart: nothing lost, nothing duplicated, order kept.
test('server restart: messages queued while down arrive once each, in order', async (t) => {
  const srv = await startBotciv({ uvicorn: 'new' })
  t.after(() => srv.stop())
  const initialDelay = 50
  const maxDelay = 200
  const r = new ReconnectingWebSocket(`${srv.url}/ws/2`, { reconnect: { initialDelay, maxDelay } })
  const log = record(r)
  const sent = []
  await once(r, 'open')
  for (let i = 0; i < 3; i++) sent.push(r.sendAsync(chat(`m${i}`)))
  // The restarted server is a new process with fresh stats: keep the first
  // process's record and join the two.
  const before = await srv.waitFor('2', { messages: 3 })

  const closed = once(r, 'close')
  await srv.stop()
  await closed
  assert.equal(r.state, 'reconnecting')
  for (let i = 3; i < 10; i++) sent.push(r.sendAsync(chat(`m${i}`)))
  assert.equal(r.queued.messages, 7)

  const reopened = once(r, 'open')
  await srv.start()
  await reopened
  await Promise.all(sent) // every message was written to a socket
  const after = await srv.waitFor('2', { messages: 7 })
  const all = [...before.messages, ...after.messages].map((m) => m.content)
  assert.deepEqual(all, Array.from({ length: 10 }, (_, i) => `m${i}`))
  assert.equal(before.accepted, 1)
  assert.equal(after.accepted, 1)
  assert.equal(r.queued.messages, 0)
  assert.equal(r.stats.connects, 2)
  assert.equal(r.stats.messagesOut, 10)

  const reconnecting = log.filter((e) => e.type === 'reconnecting')
  assert.ok(reconnecting.length >= 1)
  assert.equal(r.stats.reconnects, reconnecting.length)
  reconnecting.forEach((e, i) => {
    assert.ok(e instanceof ReconnectingEvent)
    assert.equal(e.attempt, i + 1)
    const base = Math.min(maxDelay, initialDelay * 2 ** i)
    assert.ok(e.delay >= 0 && e.delay <= base, `attempt ${e.attempt}: delay ${e.delay} outside [0, ${base}]`)
    assert.equal(typeof e.lastClose.code, 'number')
  })
  // The first retry follows the server's close; later ones follow refused dials.
  assert.equal(reconnecting[0].lastClose.code, log.find((e) => e.type === 'close').code)
  assert.ok(!log.some((e) => e.type === 'dropped'))

  r.close()
  await once(r, 'terminal')
})

test('abrupt server stop mid-write: no duplicates, order kept, every message settled', async (t) => {
  const fs = await startFaultServer()
  t.after(() => fs.stop())
  const r = new ReconnectingWebSocket(fs.url('/record'), { reconnect: { initialDelay: 5, maxDelay: 20 }, queue: { maxBytes: 64 << 20 } })
  const dropped = []
  r.addEventListener('dropped', (e) => dropped.push(...e.messages))
  await once(r, 'open')
  // Large messages, so the writer is still busy when the server goes away:
  // what was accepted but not written must come back to the queue's front.
  const pad = 'x'.repeat(64 * 1024)
  const msg = (i) => `${String(i).padStart(4, '0')}:${pad}`
  const settled = []
  for (let i = 0; i < 100; i++) settled.push(r.sendAsync(msg(i)).then(() => 'written', (e) => e.code))
  const closed = once(r, 'close')
  await fs.stop()
  await closed
  for (let i = 100; i < 120; i++) settled.push(r.sendAsync(msg(i)).then(() => 'written', (e) => e.code))
  await fs.start()
  const outcome = await Promise.all(settled)
  // The server acks each message after recording it: wait for the last one.
  while (!fs.received.some((m) => m.data.startsWith('0119'))) await once(r, 'message')
  const ids = fs.received.map((m) => Number(m.data.slice(0, 4)))
  assert.equal(new Set(ids).size, ids.length, 'a message arrived twice')
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'messages arrived out of order')
  // Every message was written, or handed back as lost in a failed write.
  for (const [i, o] of outcome.entries()) assert.ok(o === 'written' || o === 'CLAWSOCK_DROPPED', `message ${i}: ${o}`)
  assert.equal(dropped.length, outcome.filter((o) => o !== 'written').length)
  for (const d of dropped) assert.match(d.reason, /may or may not have reached the server/)
  // Everything sent while the server was down arrived, after the restart.
  for (let i = 100; i < 120; i++) assert.ok(ids.includes(i), `queued message ${i} missing`)
  const conns = [...new Set(fs.received.map((m) => m.conn))]
  t.diagnostic(`received ${ids.length}/120; lost in write ${dropped.length}; per connection: ${conns.map((c) => { const x = fs.received.filter((m) => m.conn === c).map((m) => Number(m.data.slice(0, 4))); return `${x[0]}..${x[x.length - 1]}` }).join(", ")}`)
  r.close()
  await once(r, 'terminal')
})

// 3. Flapping: accept then close at once, every time.
test('flapping: /flap stops after flapThreshold connections, listing the codes', async (t) => {
  const fs = await startFaultServer()
  t.after(() => fs.stop())
  const r = new ReconnectingWebSocket(fs.url('/flap'), {
    reconnect: { initialDelay: 5, maxDelay: 20, flapThreshold: 3 },
  })
  const log = record(r)
  const term = await once(r, 'terminal')
  assert.equal(term.kind, 'flapping')
  assert.deepEqual(term.codes, [1000, 1000, 1000])
  assert.deepEqual(r.terminalReason.codes, [1000, 1000, 1000])
  assert.equal(term.code, 1000)
  assert.match(term.message, /1000/)
  assert.deepEqual(types(log), [
    'open', 'close', 'reconnecting',
    'open', 'close', 'reconnecting',
    'open', 'close', 'terminal',
  ])
  assert.equal(r.stats.connects, 3)
  assert.equal(fs.events.filter((e) => e.type === 'open' && e.path === '/flap').length, 3)
  assert.equal(r.state, 'closed')
  assert.equal(r[kNative].released, true)
})

// 4. Queue limits.
test('queue limits: rejections and drops are reported exactly', async (t) => {
  const port = await deadPort()
  const url = `ws://127.0.0.1:${port}/`
  // The first attempt is refused; the next one is an hour away.
  const reconnect = { initialDelay: 3_600_000, maxDelay: 3_600_000 }
  const make = (queue) => {
    const r = new ReconnectingWebSocket(url, { reconnect, queue })
    t.after(() => r.close())
    const dropped = []
    r.addEventListener('dropped', (e) => {
      assert.ok(e instanceof DroppedEvent)
      dropped.push(e.messages)
    })
    return { r, dropped }
  }

  await t.test('reject-new over maxMessages', async () => {
    const { r, dropped } = make({ maxMessages: 3 })
    assert.equal(r.send('a'), true)
    assert.equal(r.send('b'), true)
    assert.equal(r.send('c'), true)
    assert.equal(r.send('d'), false)
    assert.equal(dropped.length, 1)
    assert.equal(dropped[0].length, 1)
    assert.equal(dropped[0][0].data, 'd')
    assert.match(dropped[0][0].reason, /max_messages is 3/)
    await assert.rejects(r.sendAsync('e'), (err) => err.code === 'CLAWSOCK_QUEUE_FULL' && /max_messages is 3/.test(err.message) && /raise max_messages/.test(err.message))
    assert.equal(dropped.length, 2)
    assert.equal(dropped[1][0].data, 'e')
    assert.deepEqual(r.queued, { messages: 3, bytes: 3 })

    // close() hands the queue back, then terminal is the last event.
    const terminal = once(r, 'terminal')
    r.close()
    assert.equal(r.state, 'closed')
    const term = await terminal
    assert.equal(term.kind, 'user-closed')
    assert.equal(dropped.length, 3)
    assert.deepEqual(dropped[2].map((m) => m.data), ['a', 'b', 'c'])
    assert.ok(dropped[2].every((m) => m.reason === term.message))
    assert.equal(r[kNative].released, true)
  })

  await t.test('reject-new over maxBytes hands back the original value', async () => {
    const { r, dropped } = make({ maxMessages: 100, maxBytes: 10 })
    const buf = Buffer.from('bbbb')
    const big = new Uint8Array(11)
    assert.equal(r.send('aaaa'), true)
    assert.equal(r.send(buf), true)
    assert.equal(r.send('ccc'), false)
    assert.match(dropped[0][0].reason, /max_bytes is 10/)
    assert.equal(r.send('cc'), true) // exactly 10 bytes fits
    assert.equal(r.send(big), false)
    assert.equal(dropped[1][0].data, big) // the very same object
    assert.match(dropped[1][0].reason, /11 bytes/)
    assert.deepEqual(r.queued, { messages: 3, bytes: 10 })
    const terminal = once(r, 'terminal')
    r.close()
    await terminal
    assert.deepEqual(dropped[2].map((m) => m.data), ['aaaa', buf, 'cc'])
    assert.equal(dropped[2][1].data, buf)
  })

  await t.test('drop-oldest over maxMessages and maxBytes', async () => {
    const { r, dropped } = make({ maxMessages: 2, maxBytes: 10, overflow: 'drop-oldest' })
    assert.equal(r.send('a'), true)
    const b = r.sendAsync('b')
    assert.equal(r.send('c'), true)
    assert.deepEqual(dropped, [[{ data: 'a', reason: dropped[0][0].reason }]])
    assert.match(dropped[0][0].reason, /drop-oldest/)
    assert.equal(r.send('d'), true)
    await assert.rejects(b, (err) => err.code === 'CLAWSOCK_DROPPED')
    assert.deepEqual(dropped[1].map((m) => m.data), ['b'])
    // One message that needs the whole byte budget evicts both at once.
    assert.equal(r.send('0123456789'), true)
    assert.deepEqual(dropped[2].map((m) => m.data), ['c', 'd'])
    assert.deepEqual(r.queued, { messages: 1, bytes: 10 })
    // Larger than maxBytes: rejected whatever the policy, nothing evicted.
    assert.equal(r.send('0123456789A'), false)
    assert.deepEqual(dropped[3].map((m) => m.data), ['0123456789A'])
    assert.deepEqual(r.queued, { messages: 1, bytes: 10 })
    const pending = r.sendAsync('x') // evicts '0123456789'
    assert.deepEqual(dropped[4].map((m) => m.data), ['0123456789'])
    const terminal = once(r, 'terminal')
    r.close()
    await assert.rejects(pending, (err) => err.code === 'CLAWSOCK_TERMINAL' && err.terminal.kind === 'user-closed')
    await terminal
    assert.deepEqual(dropped[5].map((m) => m.data), ['x'])
    // After close(): refused at once, handed back, never thrown.
    assert.equal(r.send('late'), false)
    assert.deepEqual(dropped[6].map((m) => m.data), ['late'])
    await assert.rejects(r.sendAsync('later'), (err) => err.code === 'CLAWSOCK_TERMINAL')
  })
})

// 5. close() in any state lets the process exit by itself.
for (const [stateName, where] of [
  ['waiting to reconnect', 'dead'],
  ['connecting', '/hang'],
  ['open', '/echo'],
]) {
  test(`close() while ${stateName}: the child process exits on its own`, async (t) => {
    let url
    if (where === 'dead') {
      url = `ws://127.0.0.1:${await deadPort()}/`
    } else {
      const fs = await startFaultServer()
      t.after(() => fs.stop())
      url = fs.url(where)
    }
    // Nothing but the client holds the child's event loop: it prints its
    // lines only if the client kept it alive, and exits only if close()
    // released it. A 2nd retry is ~20 s away (factor 1000): close() must
    // not wait for it.
    const script = `
      const { ReconnectingWebSocket } = require(${JSON.stringify(ROOT)})
      const r = new ReconnectingWebSocket(${JSON.stringify(url)}, {
        reconnect: { initialDelay: 20, maxDelay: 600000, factor: 1000, jitter: 'none' },
      })
      const mode = ${JSON.stringify(where)}
      let retries = 0
      r.onreconnecting = (e) => {
        console.log('reconnecting', e.attempt, e.delay, r.state)
        if (++retries === 2) r.close(4000, 'bye')
      }
      r.onopen = () => { console.log('open', r.state); r.send('queued?'); r.close(1000, 'done') }
      r.onclose = (e) => console.log('close', e.code, e.reason)
      r.ondropped = (e) => console.log('dropped', e.messages.length)
      r.onterminal = (e) => console.log('terminal', e.kind, e.code, r.state)
      if (mode === '/hang') { console.log('connecting', r.state); r.close() }
    `
    const { code, signal, stdout, stderr } = await runNode(script)
    assert.equal(signal, null, stderr)
    assert.equal(code, 0, stderr)
    const lines = stdout.trim().split('\n')
    if (where === 'dead') {
      assert.deepEqual(lines, [
        'reconnecting 1 20 reconnecting',
        'reconnecting 2 20000 reconnecting',
        'terminal user-closed 4000 closed',
      ])
    } else if (where === '/hang') {
      assert.deepEqual(lines, ['connecting connecting', 'terminal user-closed 1000 closed'])
    } else {
      assert.deepEqual(lines, ['open open', 'close 1000 done', 'terminal user-closed 1000 closed'])
    }
  })
}

test('finalCodes as a function decides, with the close code and reason', async (t) => {
  const fs = await startFaultServer()
  t.after(() => fs.stop())
  const calls = []
  const r = new ReconnectingWebSocket(fs.url('/close/4321?reason=nope'), {
    reconnect: {
      initialDelay: 5,
      maxDelay: 10,
      flapThreshold: 0,
      finalCodes: (code, reason) => { calls.push([code, reason]); return calls.length === 2 },
    },
  })
  const log = record(r)
  const term = await once(r, 'terminal')
  assert.deepEqual(calls, [[4321, 'nope'], [4321, 'nope']])
  assert.equal(term.kind, 'final-code')
  assert.equal(term.code, 4321)
  assert.match(term.message, /4321/)
  assert.deepEqual(types(log), ['open', 'close', 'reconnecting', 'open', 'close', 'terminal'])
})

test('options are checked, each error names the option', () => {
  const url = 'ws://127.0.0.1:9/'
  const bad = [
    [{ reconnect: { initialDelay: 0 } }, /'reconnect\.initialDelay'/],
    [{ reconnect: { initialDelay: 500, maxDelay: 100 } }, /'reconnect\.initialDelay'.*maxDelay/],
    [{ reconnect: { factor: 0.5 } }, /'reconnect\.factor'/],
    [{ reconnect: { jitter: 'some' } }, /'reconnect\.jitter'/],
    [{ reconnect: { maxRetries: -1 } }, /'reconnect\.maxRetries'/],
    [{ reconnect: { maxRetries: 1.5 } }, /'reconnect\.maxRetries'/],
    [{ reconnect: { stableAfter: 'x' } }, /'reconnect\.stableAfter'/],
    [{ reconnect: { finalCodes: [4001, 99] } }, /'reconnect\.finalCodes\[1\]'/],
    [{ reconnect: { finalCodes: 4001 } }, /'reconnect\.finalCodes'/],
    [{ reconnect: { flapThreshold: -2 } }, /'reconnect\.flapThreshold'/],
    [{ reconnect: { flapWindow: 0 } }, /'reconnect\.flapWindow'/],
    [{ reconnect: { initalDelay: 5 } }, /'reconnect\.initalDelay' is not a known option/],
    [{ reconnect: 5 }, /'reconnect'/],
    [{ queue: { maxMessages: -1 } }, /'queue\.maxMessages'/],
    [{ queue: { maxBytes: NaN } }, /'queue\.maxBytes'/],
    [{ queue: { overflow: 'drop-newest' } }, /'queue\.overflow'/],
    [{ handshakeTimeout: -1 }, /'handshakeTimeout'/],
  ]
  for (const [options, re] of bad) {
    assert.throws(() => new ReconnectingWebSocket(url, options), (err) => err instanceof TypeError && re.test(err.message), JSON.stringify(options))
  }
  assert.throws(() => new ReconnectingWebSocket('http://[bad'), { name: 'SyntaxError' })
})

test('CLAWSOCK_LOG: queue drops, reconnect waits and the final stop are logged, without the URL', async (t) => {
  const fs = await startFaultServer()
  t.after(() => fs.stop())
  const url = fs.url('/flap?token=sekret-in-query')
  const child = await runNode(
    `const { ReconnectingWebSocket } = require('.');
     const r = new ReconnectingWebSocket(${JSON.stringify(url)}, {
       reconnect: { initialDelay: 5, maxDelay: 20, flapThreshold: 2 },
       queue: { maxMessages: 1, overflow: 'drop-oldest' },
     });
     r.send('first'); r.send('second'); // queued while connecting; the second evicts the first
     r.addEventListener('terminal', (e) => console.log('terminal', e.kind));`,
    { env: { CLAWSOCK_LOG: 'debug' } },
  )
  assert.equal(child.code, 0, child.stderr)
  assert.match(child.stdout, /terminal flapping/)
  assert.match(child.stderr, /reconnect: send queue full, oldest messages dropped \(drop-oldest\).*dropped=1/)
  assert.match(child.stderr, /reconnect: waiting before the next attempt.*attempt=1/)
  assert.match(child.stderr, /reconnect: stopped for good.*unsent=/)
  assert.ok(!child.stderr.includes('sekret'), 'the URL (and its query) must not be logged')
})
