'use strict'
// WebSocket: WHATWG behaviour and clawsock's extras, against the project's
// fault-injection server (ws-based, loopback) and real TLS.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Worker } = require('node:worker_threads')

const { WebSocket, CloseEvent, MessageEvent, ErrorEvent } = require('..')
const { startFaultServer } = require('./harness/fault')
const { makeTestPki } = require('./harness/tls')
const { once, record, runNode, runProcess, ROOT } = require('./helpers')

let server
test.before(async () => {
  server = await startFaultServer()
})
test.after(async () => {
  await server.stop()
})

test('echo: text and binary, events in spec order, exits cleanly', async () => {
  const ws = new WebSocket(server.url('/echo'))
  assert.equal(ws.readyState, WebSocket.CONNECTING)
  assert.equal(ws.binaryType, 'blob') // the standard's default (see whatwg.test.js)
  ws.binaryType = 'arraybuffer'
  const { log, done } = record(ws)
  ws.onopen = () => {
    assert.equal(ws.readyState, WebSocket.OPEN)
    ws.send('hello')
    ws.send(new Uint8Array([1, 2, 3]))
    ws.send(new Uint16Array([0x0201]).buffer)
  }
  let n = 0
  ws.onmessage = () => {
    if (++n === 3) ws.close(1000, 'done')
  }
  await done
  assert.deepEqual(log.map((e) => e.type), ['open', 'message', 'message', 'message', 'close'])
  assert.equal(log[1].data, 'hello')
  assert.ok(log[1] instanceof MessageEvent)
  assert.ok(log[2].data instanceof ArrayBuffer)
  assert.deepEqual([...new Uint8Array(log[2].data)], [1, 2, 3])
  assert.deepEqual([...new Uint8Array(log[3].data)], [1, 2])
  const close = log[4]
  assert.ok(close instanceof CloseEvent)
  assert.equal(close.code, 1000)
  assert.equal(close.reason, 'done')
  assert.equal(close.wasClean, true)
  assert.equal(ws.readyState, WebSocket.CLOSED)
})

test('binaryType nodebuffer and blob', async () => {
  for (const [type, check] of [
    ['nodebuffer', (d) => assert.ok(Buffer.isBuffer(d) && d.toString() === 'abc')],
    ['blob', async (d) => assert.ok(d instanceof Blob && (await d.text()) === 'abc')],
  ]) {
    const ws = new WebSocket(server.url('/echo'))
    ws.binaryType = type
    ws.onopen = () => ws.send(Buffer.from('abc'))
    const ev = await once(ws, 'message')
    await check(ev.data)
    ws.close()
    await once(ws, 'close')
  }
})

test('sends Blob data in order with other data', async () => {
  const ws = new WebSocket(server.url('/echo'))
  ws.binaryType = 'nodebuffer'
  const got = []
  ws.onopen = () => {
    ws.send(new Blob(['one']))
    ws.send('two')
  }
  await new Promise((resolve) => {
    ws.onmessage = (e) => {
      got.push(String(e.data))
      if (got.length === 2) resolve()
    }
  })
  assert.deepEqual(got, ['one', 'two'])
  ws.close()
  await once(ws, 'close')
})

test('addEventListener once, removeEventListener, handler replacement', async () => {
  const ws = new WebSocket(server.url('/blast?n=3&size=4'))
  const seen = []
  ws.addEventListener('message', () => seen.push('once'), { once: true })
  const removed = () => seen.push('removed')
  ws.addEventListener('message', removed)
  ws.removeEventListener('message', removed)
  ws.onmessage = () => seen.push('old')
  ws.onmessage = () => seen.push('new')
  assert.equal(typeof ws.onmessage, 'function')
  await once(ws, 'close')
  assert.deepEqual(seen, ['once', 'new', 'new', 'new'])
})

test('no Origin header by default; custom headers are sent', async () => {
  const ws = new WebSocket(server.url('/headers'), undefined, { headers: { Authorization: 'Bearer test-header-value', 'X-Agent': '7' } })
  const { data } = await once(ws, 'message')
  const headers = JSON.parse(data)
  assert.equal(headers.origin, undefined)
  assert.equal(headers['x-agent'], '7')
  assert.equal(headers.authorization, 'Bearer test-header-value')
  ws.close()
  await once(ws, 'close')
})

test('subprotocol negotiation sets protocol', async () => {
  const ws = new WebSocket(server.url('/subprotocol'), ['chat.v2', 'chat.v1'])
  await once(ws, 'open')
  assert.equal(ws.protocol, 'chat.v2')
  ws.close()
  await once(ws, 'close')
})

test('WHATWG argument errors: URL, protocols, close code and reason, send while connecting', async () => {
  const syntax = (fn) => assert.throws(fn, (e) => e instanceof DOMException && e.name === 'SyntaxError')
  syntax(() => new WebSocket('not a url'))
  syntax(() => new WebSocket('ftp://127.0.0.1/'))
  syntax(() => new WebSocket('ws://127.0.0.1/#frag'))
  syntax(() => new WebSocket(server.url('/echo'), ['a', 'a']))
  syntax(() => new WebSocket(server.url('/echo'), 'bad protocol'))
  assert.throws(() => new WebSocket(), TypeError)
  assert.throws(() => new WebSocket(server.url('/echo'), [], { handshakeTimeout: -1 }), /handshakeTimeout/)

  const ws = new WebSocket(server.url('/echo'))
  assert.throws(() => ws.send('x'), (e) => e instanceof DOMException && e.name === 'InvalidStateError')
  await once(ws, 'open')
  assert.throws(() => ws.close(1001), (e) => e instanceof DOMException && e.name === 'InvalidAccessError')
  assert.throws(() => ws.close(5000), (e) => e instanceof DOMException && e.name === 'InvalidAccessError')
  syntax(() => ws.close(1000, 'x'.repeat(124)))
  ws.close(4000, 'é'.repeat(61))
  const close = await once(ws, 'close')
  assert.equal(close.code, 4000)
})

test('http: and https: URLs become ws: and wss:', () => {
  const ws = new WebSocket(`http://127.0.0.1:${server.port}/echo`)
  assert.equal(ws.url, `ws://127.0.0.1:${server.port}/echo`)
  ws.close()
})

async function failure(url, options) {
  const ws = new WebSocket(url, undefined, options)
  const { log, done } = record(ws)
  await done
  assert.deepEqual(log.map((e) => e.type), ['error', 'close'])
  const [error, close] = log
  assert.ok(error instanceof ErrorEvent)
  assert.equal(close.code, 1006)
  assert.equal(close.wasClean, false)
  return { error, close }
}

test('connection refused is named', async () => {
  const net = require('node:net')
  const srv = net.createServer()
  await new Promise((r) => srv.listen(0, '127.0.0.1', r))
  const port = srv.address().port
  await new Promise((r) => srv.close(r))
  const { error, close } = await failure(`ws://127.0.0.1:${port}/`)
  assert.match(error.message, /connection refused by 127\.0\.0\.1/)
  assert.equal(error.error.code, 'CLAWSOCK_CONNECTION_REFUSED')
  assert.match(close.reason, /connection refused/)
})

test('DNS failure is named', async () => {
  const { error } = await failure('ws://no-such-host.invalid/')
  assert.match(error.message, /DNS lookup failed for no-such-host\.invalid/)
})

test('rejected upgrade reports the HTTP status and body', async () => {
  const { error } = await failure(server.url('/reject/403'))
  assert.match(error.message, /unexpected HTTP 403 Forbidden/)
  assert.match(error.message, /forbidden by test/)
  assert.equal(error.error.status, 403)
})

test('handshake timeout', async () => {
  const { error } = await failure(server.url('/hang'), { handshakeTimeout: 200 })
  assert.match(error.message, /handshake timeout/)
  assert.match(error.message, /200 ms/)
})

test('close() while connecting fails the connection (error, then close 1006)', async () => {
  const ws = new WebSocket(server.url('/hang'))
  const { log, done } = record(ws)
  ws.close()
  assert.equal(ws.readyState, WebSocket.CLOSING)
  await done
  assert.deepEqual(log.map((e) => e.type), ['error', 'close'])
  assert.match(log[0].message, /closed before the connection was established/)
})

test('peer going away mid-frame', async () => {
  const ws = new WebSocket(server.url('/drop-mid-frame'))
  const { log, done } = record(ws)
  await done
  assert.deepEqual(log.map((e) => e.type), ['open', 'error', 'close'])
  assert.equal(log[2].code, 1006)
  assert.match(log[2].reason, /middle of a frame|without a close frame/)
})

test('frames in the same read as the 101: fragments joined, a ping between them answered, close echoed', async () => {
  const ws = new WebSocket(server.url('/raw-frames/fragmented'))
  ws.binaryType = 'arraybuffer'
  const { log, done } = record(ws)
  await done
  assert.deepEqual(log.map((e) => e.type), ['open', 'message', 'message', 'close'])
  assert.equal(log[1].data, 'héllo wörld')
  assert.deepEqual([...new Uint8Array(log[2].data)], [1, 2, 3])
  assert.equal(log[3].code, 1000)
  assert.equal(log[3].reason, 'done')
  assert.equal(log[3].wasClean, true)
  const pong = await server.waitForEvent((e) => e.path === '/raw-frames/fragmented' && e.type === 'pong')
  assert.equal(pong.payload, 'p1')
  const reply = await server.waitForEvent((e) => e.conn === pong.conn && e.type === 'close')
  assert.deepEqual([reply.code, reply.reason], [1000, 'done'])
})

test('protocol violations from the server close with 1002 and name the violation', async () => {
  for (const [which, why] of [['masked', /masked frame/], ['opcode', /unknown opcode 3/]]) {
    const ws = new WebSocket(server.url(`/raw-frames/${which}`))
    const { log, done } = record(ws)
    await done
    assert.deepEqual(log.map((e) => e.type), ['open', 'error', 'close'], which)
    assert.equal(log[2].code, 1002, which)
    assert.match(log[2].reason, why)
    const sent = await server.waitForEvent((e) => e.path === `/raw-frames/${which}` && e.type === 'close')
    assert.equal(sent.code, 1002, `${which}: the close frame the server got`)
  }
})

test('a dead peer is found by ping: 1006 "pong timeout"', async () => {
  const ws = new WebSocket(server.url('/no-pong'), undefined, { pingInterval: 50, pongTimeout: 50 })
  const { log, done } = record(ws)
  await done
  const close = log.at(-1)
  assert.equal(close.code, 1006)
  assert.equal(close.reason, 'pong timeout')
})

test('invalid UTF-8 closes with 1007', async () => {
  const ws = new WebSocket(server.url('/invalid-utf8'))
  const { log, done } = record(ws)
  await done
  const close = log.at(-1)
  assert.equal(close.code, 1007)
  assert.match(close.reason, /invalid UTF-8/)
  assert.ok(!log.some((e) => e.type === 'message'))
})

test('maxPayload: a larger message closes with 1009 and a clear reason', async () => {
  const ws = new WebSocket(server.url('/big?bytes=5000'), undefined, { maxPayload: 1000 })
  const { log, done } = record(ws)
  await done
  const close = log.at(-1)
  assert.equal(close.code, 1009)
  assert.match(close.reason, /5000 bytes is over maxPayload \(1000 bytes\)/)
  assert.ok(!log.some((e) => e.type === 'message'))
})

test('server close codes and reasons reach JS exactly as sent', async () => {
  for (const [code, reason] of [[1000, ''], [1001, 'going away'], [1011, 'oops'], [3001, 'app'], [4001, 'Replaced']]) {
    const ws = new WebSocket(server.url(`/close/${code}?reason=${encodeURIComponent(reason)}`))
    const close = await once(ws, 'close')
    assert.equal(close.code, code)
    assert.equal(close.reason, reason)
    assert.equal(close.wasClean, true)
  }
  // A close frame without a status code is reported as 1005 (no status).
  const bare = new WebSocket(server.url('/close/none'))
  assert.equal((await once(bare, 'close')).code, 1005)
  // 1005 itself may never be sent on the wire: that is a protocol error (1002).
  const illegal = new WebSocket(server.url('/close/1005'))
  const { log, done } = record(illegal)
  await done
  assert.equal(log.at(-1).code, 1002)
  assert.match(log.at(-1).reason, /protocol (error|violation)/i)
})

test('sendAsync resolves once written; bufferedAmount returns to 0', async () => {
  const ws = new WebSocket(server.url('/record'))
  await once(ws, 'open')
  const big = Buffer.alloc(256 * 1024, 7)
  const p1 = ws.sendAsync(big)
  const p2 = ws.sendAsync('after')
  // Exact, and only lowered in a later task (as in browsers).
  assert.equal(ws.bufferedAmount, big.length + 5)
  await Promise.all([p1, p2])
  assert.equal(ws.bufferedAmount, 0)
  ws.close()
  await once(ws, 'close')
  await assert.rejects(ws.sendAsync('late'), /closed/)
})

test('async iteration yields messages in order and ends at close', async () => {
  const ws = new WebSocket(server.url('/blast?n=5&size=10'))
  const got = []
  for await (const data of ws) got.push(data.split(':')[0])
  assert.deepEqual(got, ['0', '1', '2', '3', '4'])
})

test('many small messages arrive complete and in order (batched delivery)', async () => {
  const n = 50000
  const ws = new WebSocket(server.url(`/blast?n=${n}&size=20`))
  let i = 0
  let inOrder = true
  ws.onmessage = (e) => {
    if (Number(e.data.slice(0, e.data.indexOf(':'))) !== i) inOrder = false
    i++
  }
  await once(ws, 'close')
  assert.equal(i, n)
  assert.ok(inOrder)
})

/** Sends `msgs` on an echo socket and returns what came back, in order. */
async function echoAll(url, msgs, opts) {
  const ws = new WebSocket(url, undefined, opts)
  ws.binaryType = 'arraybuffer'
  const got = []
  ws.onopen = () => { for (const m of msgs) ws.send(m) }
  ws.onmessage = (e) => {
    got.push(e.data)
    if (got.length === msgs.length) ws.close()
  }
  await once(ws, 'close')
  return got
}

test('multi-byte UTF-8 text round-trips exactly through batched (joined) delivery', async () => {
  const parts = ['a', 'é', '日本語のテキスト', '😀🎉', '𝄞x', '', 'plain ascii', '中文 and ascii 😀 mixed', '\u{10FFFF}\u{FFFF}\u0000']
  const sent = []
  for (let i = 0; i < 3000; i++) sent.push(`${i}:${parts[i % parts.length].repeat(1 + (i % 5))}`)
  sent.push('x'.repeat(20000) + '日本') // longer than a joined run takes
  sent.push('after-long 😀')
  const got = await echoAll(server.url('/echo'), sent)
  assert.equal(got.length, sent.length)
  for (let i = 0; i < sent.length; i++) assert.equal(got[i], sent[i], `message ${i}`)
})

test('message dispatch: listener order, once, removal during dispatch, handleEvent, stopImmediatePropagation', async () => {
  const ws = new WebSocket(server.url('/blast?n=3&size=4'))
  const seen = []
  const events = []
  ws.addEventListener('message', (e) => {
    events.push(e)
    assert.ok(e instanceof MessageEvent)
    assert.ok(e instanceof Event)
    assert.equal(e.target, ws)
    assert.equal(e.currentTarget, ws)
    assert.equal(e.eventPhase, Event.AT_TARGET)
    assert.deepEqual(e.composedPath(), [ws])
    assert.equal(e.type, 'message')
    assert.equal(e.bubbles, false)
    assert.equal(e.cancelable, false)
    if (e.data !== '2x') assert.equal(e.origin, new URL(ws.url).origin)
    assert.equal(typeof e.timeStamp, 'number')
    seen.push('first')
  })
  ws.onmessage = () => seen.push('onmessage')
  ws.addEventListener('message', () => seen.push('third'))
  const late = () => seen.push('late')
  ws.addEventListener('message', () => {
    seen.push('remover')
    ws.removeEventListener('message', late)
    ws.addEventListener('message', () => seen.push('added-during'))
  }, { once: true })
  ws.addEventListener('message', late)
  const handler = { handleEvent(e) { seen.push(this === handler && e.type === 'message' ? 'handleEvent' : 'wrong') } }
  ws.addEventListener('message', handler)
  ws.addEventListener('message', (e) => { if (e.data.startsWith('2')) { seen.push('stop'); e.stopImmediatePropagation() } })
  ws.addEventListener('message', () => seen.push('last'))
  ws.onmessage = () => seen.push('onmessage2') // replacing the handler keeps its position
  await once(ws, 'close')
  // User-dispatched events reach the same listeners, in the same order.
  seen.push('|')
  ws.dispatchEvent(new MessageEvent('message', { data: '2x' }))
  const head = ['first', 'onmessage2', 'third']
  assert.deepEqual(seen, [
    ...head, 'remover', 'handleEvent', 'last',
    ...head, 'handleEvent', 'last', 'added-during',
    ...head, 'handleEvent', 'stop',
    '|', ...head, 'handleEvent', 'stop',
  ])
  // After dispatch: target stays, currentTarget and phase reset.
  assert.equal(events[0].target, ws)
  assert.equal(events[0].currentTarget, null)
  assert.equal(events[0].eventPhase, Event.NONE)
  assert.match(require('node:util').inspect(events[0]), /^MessageEvent /)
})

test('message dispatch: a throwing listener is reported as uncaught and the others still run', async () => {
  const child = await runNode(
    `const { WebSocket } = require('.');
     const ws = new WebSocket(${JSON.stringify(server.url('/blast?n=2&size=4'))});
     const seen = [];
     process.on('uncaughtException', (e) => seen.push('uncaught:' + e.message));
     ws.addEventListener('message', () => { throw new Error('boom') });
     ws.addEventListener('message', async () => { throw new Error('async boom') });
     ws.addEventListener('message', (e) => seen.push('after:' + e.data.slice(0, 2)));
     // Printed when the process ends by itself: every report has happened by then.
     process.on('exit', () => console.log(JSON.stringify(seen)));`,
  )
  assert.equal(child.code, 0, child.stderr)
  const seen = JSON.parse(child.stdout)
  assert.deepEqual(seen.filter((x) => x.startsWith('after:')), ['after:0:', 'after:1:'])
  assert.deepEqual(seen.filter((x) => x.startsWith('uncaught:')).sort(), ['uncaught:async boom', 'uncaught:async boom', 'uncaught:boom', 'uncaught:boom'])
})

test('one wake-up for many sockets: a consumer that throws does not cost another socket its messages', async () => {
  // A ws-style 'message' listener that throws is uncaught, once per message,
  // and neither the rest of its socket's batch nor the other sockets that
  // share the wake-up (src/bindings/wake.rs) lose a message.
  const child = await runNode(
    `const WebSocket = require('./ws');
     const seen = { uncaught: [], quiet: 0, closed: 0 };
     process.on('uncaughtException', (e) => seen.uncaught.push(e.message));
     const n = 20;
     for (let i = 0; i < 6; i++) {
       const ws = new WebSocket(${JSON.stringify(server.url('/blast?n=20&size=8'))});
       ws.on('message', () => { if (i % 2) throw new Error('boom ' + i); seen.quiet++ });
       ws.on('close', () => seen.closed++);
     }
     process.on('exit', () => console.log(JSON.stringify(seen)));`,
  )
  assert.equal(child.code, 0, child.stderr)
  const seen = JSON.parse(child.stdout)
  assert.equal(seen.closed, 6)
  assert.equal(seen.quiet, 3 * 20, 'every message of the three quiet sockets')
  assert.equal(seen.uncaught.length, 3 * 20, 'one uncaught exception per message of the throwing sockets')
})

/** Bytes whose value depends on position, so a lost, repeated or shifted chunk shows. */
function pattern(n, seed) {
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >> 16)) & 0xff
  return b
}

const largeMessages = () => [
  pattern(3 * 1024 * 1024 + 7, 1), // several read-ahead reads, odd length
  'small text between large ones',
  pattern(300 * 1024, 2),
  'x'.repeat(2 * 1024 * 1024) + 'é日本😀', // large text, non-ASCII tail
  'y'.repeat(700 * 1024), // large ASCII text
  pattern(1, 3),
  new Uint8Array(0),
]

function assertSameMessages(got, sent) {
  assert.equal(got.length, sent.length)
  for (let i = 0; i < sent.length; i++) {
    if (typeof sent[i] === 'string') {
      assert.equal(typeof got[i], 'string', `message ${i}`)
      assert.ok(got[i] === sent[i], `message ${i}: text differs (length ${got[i].length} vs ${sent[i].length})`)
    } else {
      assert.ok(got[i] instanceof ArrayBuffer, `message ${i}`)
      assert.ok(Buffer.from(got[i]).equals(Buffer.from(sent[i])), `message ${i}: bytes differ (length ${got[i].byteLength} vs ${sent[i].length})`)
    }
  }
}

test('large messages round-trip byte-exact, mixed with small ones (read-ahead and zero-copy paths)', async () => {
  const sent = largeMessages()
  assertSameMessages(await echoAll(server.url('/echo'), sent), sent)
})

test('wss: trusted through tls.ca, rejected with a clear reason when not trusted', async () => {
  const pki = makeTestPki()
  const tlsServer = await startFaultServer({ tls: { cert: pki.certPem, key: pki.keyPem } })
  try {
    const ok = new WebSocket(tlsServer.url('/echo'), undefined, { tls: { ca: pki.caPem } })
    ok.onopen = () => ok.send('over tls')
    assert.equal((await once(ok, 'message')).data, 'over tls')
    ok.close()
    await once(ok, 'close')

    const sent = largeMessages()
    assertSameMessages(await echoAll(tlsServer.url('/echo'), sent, { tls: { ca: pki.caPem } }), sent)

    const { error } = await failure(tlsServer.url('/echo'))
    assert.match(error.message, /TLS certificate invalid: it is not signed by a trusted certificate authority/)
    assert.match(error.message, /NODE_EXTRA_CA_CERTS/)
    assert.equal(error.error.code, 'CLAWSOCK_TLS')

    const insecure = new WebSocket(tlsServer.url('/echo'), undefined, { tls: { rejectUnauthorized: false } })
    await once(insecure, 'open')
    insecure.close()
    await once(insecure, 'close')

    // NODE_EXTRA_CA_CERTS is read by the native TLS stack, in a fresh process.
    const child = await runNode(
      `const { WebSocket } = require('.');
       const ws = new WebSocket(${JSON.stringify(tlsServer.url('/echo'))});
       ws.onopen = () => ws.send('extra-ca');
       ws.onmessage = (e) => { console.log('got', e.data); ws.close() };
       ws.onerror = (e) => console.log('error', e.message);`,
      { env: { NODE_EXTRA_CA_CERTS: pki.caPath } },
    )
    assert.equal(child.code, 0, child.stderr)
    assert.match(child.stdout, /got extra-ca/)
  } finally {
    await tlsServer.stop()
  }
})

test('lifecycle: an open socket keeps the process alive; a closed one lets it exit', async () => {
  // The child prints "open" and then waits: only the open socket keeps it
  // alive. The server closes it when asked; the child must then exit by itself.
  const { spawn } = require('node:child_process')
  const child = spawn(process.execPath, ['-e', `
    const { WebSocket } = require('.');
    const ws = new WebSocket(${JSON.stringify(server.url('/close-after-message/4002?reason=bye'))});
    ws.onopen = () => { console.log('open'); };
    process.stdin.once('data', () => { ws.send('please close'); process.stdin.pause(); process.stdin.unref(); });
    ws.onclose = (e) => console.log('close', e.code, e.reason);
  `], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  const opened = new Promise((resolve) => child.stdout.on('data', (d) => { out += d; if (out.includes('open')) resolve() }))
  const exited = new Promise((resolve) => child.on('close', resolve))
  await opened
  child.stdin.write('go\n')
  const code = await exited
  assert.equal(code, 0)
  assert.match(out, /close 4002 bye/)
})

test('lifecycle: a closed and collected socket frees its native session (no leak per socket)', async () => {
  // Every socket's state used to stay allocated after close (~1 KiB each):
  // the worker-teardown hook held it and removing the hook did not free it.
  const child = await runProcess(['--expose-gc', '-e', `
    const { WebSocket } = require('.');
    const native = require('./native.js');
    const url = ${JSON.stringify(server.url('/echo'))};
    const cycle = () => new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => ws.close();
      ws.onclose = resolve;
      ws.onerror = (e) => reject(e.error);
    });
    (async () => {
      const before = native.debugLiveSessions();
      for (let i = 0; i < 200; i++) await cycle();
      // Collect until the count is back (each round lets finalizers run);
      // a leak keeps it at +200 whatever the rounds.
      let live = native.debugLiveSessions();
      for (let round = 0; round < 100 && live > before; round++) {
        global.gc();
        await new Promise((r) => setImmediate(r));
        live = native.debugLiveSessions();
      }
      console.log(JSON.stringify({ before, live }));
    })();`])
  assert.equal(child.code, 0, child.stderr)
  assert.deepEqual(JSON.parse(child.stdout), { before: 0, live: 0 })
})

test('lifecycle: a refused connection does not keep the process alive', async () => {
  const r = await runNode(`
    const { WebSocket } = require('.');
    const ws = new WebSocket('ws://127.0.0.1:1/');
    ws.onclose = (e) => console.log('closed', e.code);
  `)
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /closed 1006/)
})

test('worker_threads: several workers at once; terminating a worker with an open socket crashes nothing', async () => {
  const script = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { WebSocket } = require(${JSON.stringify(ROOT)});
    const ws = new WebSocket(workerData.url);
    ws.onopen = () => ws.send('from worker ' + workerData.i);
    ws.onmessage = (e) => parentPort.postMessage(e.data);
  `
  const workers = [0, 1, 2].map((i) => new Worker(script, { eval: true, workerData: { url: server.url('/echo'), i } }))
  const replies = await Promise.all(workers.map((w) => once(w, 'message')))
  assert.deepEqual(replies.sort(), ['from worker 0', 'from worker 1', 'from worker 2'])
  const codes = await Promise.all(workers.map((w) => w.terminate()))
  assert.deepEqual(codes, [1, 1, 1])
  // The main thread still works after the workers' sockets were torn down.
  const ws = new WebSocket(server.url('/echo'))
  ws.onopen = () => ws.send('main still fine')
  assert.equal((await once(ws, 'message')).data, 'main still fine')
  ws.close()
  await once(ws, 'close')
})
