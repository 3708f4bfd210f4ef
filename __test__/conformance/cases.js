'use strict'
// The conformance cases: the Autobahn TestSuite's sections 1-7 and 9 for a
// client, scaled down, plus the opening handshake delivered in pieces. Each
// case is what Autobahn's case of the same number does (case descriptions
// and expectations from crossbario/autobahn-testsuite, case/case*.py):
//   run(peer)   what the server sends (and waits for)
//   ok          the events the server must get back (echoed messages, pongs)
//   nonStrict   events that are acceptable but not strict (e.g. not failing fast)
//   close       { byMe: the server sends the first close frame, codes: the
//               client's acceptable close codes, clean: the closing handshake
//               must complete, wrongEndpointFatal }
//   js          what the client's JS close event must show: 'clean' (the
//               server's code and reason, wasClean, no error) or 'fail' (an
//               error event, the failure's code or 1006)
// Waits are deterministic where Autobahn waits for a time: the server sends
// a ping and waits for its pong (a client that has failed sends none). Only
// 6.4.3/6.4.4 (one frame in timed chops) wait for a time, as Autobahn does.

const { OP } = require('./server.js')

const cases = []
function add(c) {
  const section = Number(c.id.split('.')[0])
  cases.push({ section, js: c.close.byMe && c.close.clean ? 'clean' : 'fail', ...c })
}

const msg = (payload, binary = false) => ['message', Buffer.from(payload), binary]
const pong = (payload = '') => ['pong', Buffer.from(payload)]
const NORMAL = { byMe: true, codes: [1000], clean: true }
const PROTOCOL = { byMe: false, codes: [1002], clean: false }
const BAD_UTF8 = { byMe: false, codes: [1007], clean: false, wrongEndpointFatal: true }
const hex = (h) => Buffer.from(h.replace(/\s/g, ''), 'hex')
const stars = (n) => Buffer.alloc(n, '*')
const fe = (n) => Buffer.alloc(n, 0xfe)

// 1: framing at every length boundary, whole and chopped; the 101 in pieces.
const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536]
for (const [section, binary] of [[1, false], [2, true]]) {
  const body = binary ? fe : stars
  const op = binary ? OP.BINARY : OP.TEXT
  const kind = binary ? 'binary' : 'text'
  LENGTHS.forEach((n, i) =>
    add({ id: `1.${section}.${i + 1}`, desc: `${kind} message of ${n} bytes`, ok: [msg(body(n), binary)], close: NORMAL, run: (p) => p.send(op, body(n)) }),
  )
  add({ id: `1.${section}.8`, desc: `${kind} message of 65536 bytes in writes of 997 bytes`, ok: [msg(body(65536), binary)], close: NORMAL, run: (p) => p.send(op, body(65536), { chop: 997 }) })
}
add({ id: '1.3.1', desc: 'the 101 response one byte per write, then a text message one byte per write', handshake: { chop: 1 }, ok: [msg('Hello, world!')], close: NORMAL, run: (p) => p.send(OP.TEXT, 'Hello, world!', { chop: 1 }) })
add({ id: '1.3.2', desc: 'the 101 response and two messages in one write', handshake: { frames: [[OP.TEXT, 'first'], [OP.BINARY, hex('0102ff')]] }, ok: [msg('first'), msg(hex('0102ff'), true)], close: NORMAL, run: async () => {} })
add({ id: '1.3.3', desc: 'the 101 response and a message in writes of 3 bytes (the end of the headers and the frame share a write)', handshake: { chop: 3, frames: [[OP.TEXT, 'after the headers']] }, ok: [msg('after the headers')], close: NORMAL, run: async () => {} })
add({ id: '1.4.1', desc: 'text message of 126 bytes (16-bit length) one byte per write', ok: [msg(stars(126))], close: NORMAL, run: (p) => p.send(OP.TEXT, stars(126), { chop: 1 }) })
add({ id: '1.4.2', desc: 'binary message of 65536 bytes (64-bit length), the header one byte per write', ok: [msg(fe(65536), true)], close: NORMAL, run: async (p) => {
  const { encodeFrame } = require('./wire.js')
  const wire = encodeFrame({ opcode: OP.BINARY, payload: fe(65536) })
  await p.write(wire.subarray(0, 10), 1)
  await p.write(wire.subarray(10))
} })

// 2: ping and pong.
const PINGS = [
  ['2.1', 'ping without payload', ''],
  ['2.2', 'ping with a small text payload', 'Hello, world!'],
  ['2.3', 'ping with a small binary payload', hex('00fffefdfcfb00ff')],
  ['2.4', 'ping with a 125-byte binary payload', fe(125)],
]
for (const [id, desc, payload] of PINGS) add({ id, desc, ok: [pong(payload)], close: NORMAL, run: (p) => p.send(OP.PING, payload) })
add({ id: '2.5', desc: 'ping with a 126-byte payload (over the control frame limit)', ok: [], close: PROTOCOL, run: (p) => p.send(OP.PING, fe(126)) })
add({ id: '2.6', desc: 'ping with a 125-byte payload, one byte per write', ok: [pong(fe(125))], close: NORMAL, run: (p) => p.send(OP.PING, fe(125), { chop: 1 }) })
add({ id: '2.7', desc: 'unsolicited pong without payload', ok: [], close: NORMAL, run: (p) => p.send(OP.PONG, '') })
add({ id: '2.8', desc: 'unsolicited pong with payload', ok: [], close: NORMAL, run: (p) => p.send(OP.PONG, 'unsolicited pong payload') })
add({ id: '2.9', desc: 'unsolicited pong, then a ping', ok: [pong('ping payload')], close: NORMAL, run: (p) => p.sendAll([[OP.PONG, 'unsolicited pong payload'], [OP.PING, 'ping payload']]) })
const tenPings = Array.from({ length: 10 }, (_, i) => `payload-${i}`)
add({ id: '2.10', desc: '10 pings with payload', ok: tenPings.map((s) => pong(s)), close: NORMAL, run: (p) => p.sendAll(tenPings.map((s) => [OP.PING, s])) })
add({ id: '2.11', desc: '10 pings with payload, one byte per write', ok: tenPings.map((s) => pong(s)), close: NORMAL, run: (p) => p.sendAll(tenPings.map((s) => [OP.PING, s]), 1) })

// 3: reserved bits.
const HELLO = 'Hello, world!'
add({ id: '3.1', desc: 'text message with RSV = 1', ok: [], close: PROTOCOL, run: (p) => p.send(OP.TEXT, HELLO, { rsv: 1 }) })
for (const [id, rsv, chop, how] of [['3.2', 2, 0, 'in one write'], ['3.3', 3, 0, 'frame by frame'], ['3.4', 4, 1, 'one byte per write']]) {
  add({ id, desc: `text message, then one with RSV = ${rsv}, then a ping (${how})`, ok: [msg(HELLO)], nonStrict: [], close: PROTOCOL, run: async (p) => {
    const frames = [[OP.TEXT, HELLO], [OP.TEXT, HELLO, { rsv }], [OP.PING, '']]
    if (how === 'frame by frame') for (const f of frames) await p.sendAll([f])
    else await p.sendAll(frames, chop)
  } })
}
add({ id: '3.5', desc: 'binary message with RSV = 5', ok: [], close: PROTOCOL, run: (p) => p.send(OP.BINARY, hex('00ff00ff'), { rsv: 5 }) })
add({ id: '3.6', desc: 'ping with RSV = 6', ok: [], close: PROTOCOL, run: (p) => p.send(OP.PING, HELLO, { rsv: 6 }) })
add({ id: '3.7', desc: 'close with RSV = 7', ok: [], close: PROTOCOL, run: (p) => p.send(OP.CLOSE, hex('03e8'), { rsv: 7 }) })

// 4: reserved opcodes (3-7 data, 11-15 control).
for (const [sub, ops] of [[1, [3, 4, 5, 6, 7]], [2, [11, 12, 13, 14, 15]]]) {
  ops.forEach((op, i) => {
    const id = `4.${sub}.${i + 1}`
    if (i < 2) {
      add({ id, desc: `frame with reserved opcode ${op}${i ? ' and a payload' : ''}`, ok: [], close: PROTOCOL, run: (p) => p.send(op, i ? 'reserved opcode payload' : '') })
    } else {
      add({ id, desc: `text message, a frame with reserved opcode ${op}, a ping${i === 4 ? ' (one byte per write)' : ''}`, ok: [msg(HELLO)], nonStrict: [], close: PROTOCOL, run: (p) => p.sendAll([[OP.TEXT, HELLO], [op, i > 2 ? 'reserved opcode payload' : ''], [OP.PING, '']], i === 4 ? 1 : 0) })
    }
  })
}

// 5: fragmentation, with control frames between the fragments.
const F = ['fragment1', 'fragment2']
const HOW = [[0, 'in one write'], [-1, 'frame by frame'], [1, 'one byte per write']]
async function sendHow(p, frames, how) {
  if (how === -1) for (const f of frames) await p.sendAll([f])
  else await p.sendAll(frames, how)
}
add({ id: '5.1', desc: 'ping in 2 fragments', ok: [], close: PROTOCOL, run: (p) => p.sendAll([[OP.PING, F[0], { fin: false }], [OP.CONT, F[1]]]) })
add({ id: '5.2', desc: 'pong in 2 fragments', ok: [], close: PROTOCOL, run: (p) => p.sendAll([[OP.PONG, F[0], { fin: false }], [OP.CONT, F[1]]]) })
HOW.forEach(([how, label], i) => {
  add({ id: `5.${3 + i}`, desc: `text message in 2 fragments (${label})`, ok: [msg(F.join(''))], close: NORMAL, run: (p) => sendHow(p, [[OP.TEXT, F[0], { fin: false }], [OP.CONT, F[1]]], how) })
  add({ id: `5.${6 + i}`, desc: `text message in 2 fragments with a ping between them (${label})`, ok: [pong('ping payload'), msg(F.join(''))], close: NORMAL, run: (p) => sendHow(p, [[OP.TEXT, F[0], { fin: false }], [OP.PING, 'ping payload'], [OP.CONT, F[1]]], how) })
  add({ id: `5.${9 + i}`, desc: `continuation (FIN) with nothing to continue, then a text message (${label})`, ok: [], close: PROTOCOL, run: (p) => sendHow(p, [[OP.CONT, 'non-continuation payload'], [OP.TEXT, HELLO]], how) })
  add({ id: `5.${12 + i}`, desc: `continuation (no FIN) with nothing to continue, then a text message (${label})`, ok: [], close: PROTOCOL, run: (p) => sendHow(p, [[OP.CONT, 'non-continuation payload', { fin: false }], [OP.TEXT, HELLO]], how) })
})
add({ id: '5.15', desc: 'text in 2 fragments, then a continuation with nothing to continue, then a text message', ok: [msg(F.join(''))], nonStrict: [], close: PROTOCOL, run: (p) => p.sendAll([[OP.TEXT, F[0], { fin: false }], [OP.CONT, F[1]], [OP.CONT, 'fragment3', { fin: false }], [OP.TEXT, 'fragment4']]) })
for (const [id, fin] of [['5.16', false], ['5.17', true]]) {
  add({ id, desc: `twice: a continuation (${fin ? '' : 'no '}FIN) with nothing to continue, then text in 2 fragments`, ok: [], close: PROTOCOL, run: (p) => p.sendAll([[OP.CONT, 'fragment1', { fin }], [OP.TEXT, 'fragment2', { fin: false }], [OP.CONT, 'fragment3'], [OP.CONT, 'fragment1', { fin }], [OP.TEXT, 'fragment2', { fin: false }], [OP.CONT, 'fragment3']]) })
}
add({ id: '5.18', desc: 'text in 2 fragments, both with the text opcode', ok: [], close: PROTOCOL, run: (p) => p.sendAll([[OP.TEXT, F[0], { fin: false }], [OP.TEXT, F[1]]]) })
for (const [id, chop] of [['5.19', 0], ['5.20', 1]]) {
  const parts = ['fragment1', 'fragment2', 'fragment3', 'fragment4', 'fragment5']
  add({ id, desc: `text in 5 fragments with 2 pings between; the first pong must come before the last fragment${chop ? ' (one byte per write)' : ''}`, ok: [pong('pongme 1!'), pong('pongme 2!'), msg(parts.join(''))], close: NORMAL, run: async (p) => {
    await p.sendAll([[OP.TEXT, parts[0], { fin: false }], [OP.CONT, parts[1], { fin: false }], [OP.PING, 'pongme 1!']], chop)
    await p.waitFor((r) => r.length >= 1)
    await p.sendAll([[OP.CONT, parts[2], { fin: false }], [OP.CONT, parts[3], { fin: false }], [OP.PING, 'pongme 2!'], [OP.CONT, parts[4]]], chop)
  } })
}

// 6: UTF-8, valid and invalid, whole and split across fragments.
add({ id: '6.1.1', desc: 'empty text message', ok: [msg('')], close: NORMAL, run: (p) => p.send(OP.TEXT, '') })
add({ id: '6.1.2', desc: 'text in 3 empty fragments', ok: [msg('')], close: NORMAL, run: (p) => p.sendAll([[OP.TEXT, '', { fin: false }], [OP.CONT, '', { fin: false }], [OP.CONT, '']]) })
add({ id: '6.1.3', desc: 'text in 3 fragments, only the middle one non-empty', ok: [msg('middle frame payload')], close: NORMAL, run: (p) => p.sendAll([[OP.TEXT, '', { fin: false }], [OP.CONT, 'middle frame payload', { fin: false }], [OP.CONT, '']]) })
const HELLO_UTF8 = Buffer.from('Hello-µ@ßöäüàá-UTF-8!!')
const KOSME = hex('cebae1bdb9cf83cebcceb5')
/** Sends `payload` as text in fragments of `size` bytes (0: one frame). */
function fragments(payload, size) {
  if (!size) return [[OP.TEXT, payload]]
  const out = []
  for (let i = 0; i < Math.max(payload.length, 1); i += size) out.push([i ? OP.CONT : OP.TEXT, payload.subarray(i, i + size), { fin: i + size >= payload.length }])
  return out
}
add({ id: '6.2.1', desc: 'valid UTF-8 in one fragment', ok: [msg(HELLO_UTF8)], close: NORMAL, run: (p) => p.send(OP.TEXT, HELLO_UTF8) })
add({ id: '6.2.2', desc: 'valid UTF-8 in 2 fragments split at a code point', ok: [msg(HELLO_UTF8)], close: NORMAL, run: (p) => p.sendAll([[OP.TEXT, HELLO_UTF8.subarray(0, 12), { fin: false }], [OP.CONT, HELLO_UTF8.subarray(12)]]) })
add({ id: '6.2.3', desc: 'valid UTF-8 in 1-byte fragments', ok: [msg(HELLO_UTF8)], close: NORMAL, run: (p) => p.sendAll(fragments(HELLO_UTF8, 1)) })
add({ id: '6.2.4', desc: 'valid UTF-8 (Greek) in 1-byte fragments', ok: [msg(KOSME)], close: NORMAL, run: (p) => p.sendAll(fragments(KOSME, 1)) })
const KOSME_BAD = hex('cebae1bdb9cf83cebcceb5eda080656469746564')
add({ id: '6.3.1', desc: 'invalid UTF-8 (a surrogate) in one frame', ok: [], close: BAD_UTF8, run: (p) => p.send(OP.TEXT, KOSME_BAD) })
add({ id: '6.3.2', desc: 'invalid UTF-8 in 1-byte fragments', ok: [], close: BAD_UTF8, run: (p) => p.sendAll(fragments(KOSME_BAD, 1)) })
// Fail fast: the client must fail at the fragment (or chop) that makes the text invalid.
for (const [id, parts] of [
  ['6.4.1', ['cebae1bdb9cf83cebcceb5', 'f4908080', '656469746564']],
  ['6.4.2', ['cebae1bdb9cf83cebcceb5f4', '90', '8080656469746564']],
]) {
  const [a, b, c] = parts.map(hex)
  add({ id, desc: `invalid UTF-8 in 3 fragments, the 2nd makes it invalid (${parts[1]}): fail before the 3rd`, ok: [pong('A')], nonStrict: [pong('A'), pong('B')], close: BAD_UTF8, run: async (p) => {
    await p.sendAll([[OP.TEXT, a, { fin: false }], [OP.PING, 'A']])
    await p.waitFor((r) => r.length >= 1)
    if (!p.alive) return
    await p.sendAll([[OP.CONT, b, { fin: false }], [OP.PING, 'B']])
    await p.waitFor((r) => r.length >= 2)
    if (p.alive) await p.send(OP.CONT, c)
  } })
}
for (const [id, parts] of [
  ['6.4.3', ['cebae1bdb9cf83cebcceb5', 'f4908080', '656469746564']],
  ['6.4.4', ['cebae1bdb9cf83cebcceb5f4', '90', '8080656469746564']],
]) {
  const [a, b, c] = parts.map(hex)
  add({ id, desc: `invalid UTF-8 in one frame sent in 3 timed chops, the 2nd makes it invalid (${parts[1]}): fail before the 3rd`, ok: [['timeout', 'A']], nonStrict: [['timeout', 'A'], ['timeout', 'B']], close: BAD_UTF8, run: async (p) => {
    const { encodeFrame } = require('./wire.js')
    const wire = encodeFrame({ opcode: OP.TEXT, payload: Buffer.concat([a, b, c]) })
    const head = wire.length - a.length - b.length - c.length
    await p.write(wire.subarray(0, head + a.length))
    if (await p.waitClose(500)) return
    p.mark('A')
    await p.write(wire.subarray(head + a.length, head + a.length + b.length))
    if (await p.waitClose(1000)) return
    p.mark('B')
    await p.write(wire.subarray(head + a.length + b.length))
  } })
}
// Markus Kuhn's UTF-8 decoder stress test, as Autobahn's case6_x_x.py has it: [valid, hex].
const SEQUENCES = [
  [true, '68656c6c6f24776f726c64'], [true, '68656c6c6fc2a2776f726c64'], [true, '68656c6c6fe282ac776f726c64'], [true, '68656c6c6ff0a4ada2776f726c64'],
  [true, '00'], [true, 'c280'], [true, 'e0a080'], [true, 'f0908080'],
  [false, 'f888808080'], [false, 'fc8480808080'],
  [true, '7f'], [true, 'dfbf'], [true, 'efbfbf'], [true, 'f48fbfbf'],
  [false, 'f7bfbfbf'], [false, 'fbbfbfbfbf'], [false, 'fdbfbfbfbfbf'],
  [true, 'ed9fbf'], [true, 'ee8080'], [true, 'efbfbd'], [false, 'f4908080'],
  [false, '80'], [false, 'bf'], [false, '80bf'], [false, '80bf80bf80bf'],
  [false, 'c020c120c220df20'], [false, 'e020e120ef20'], [false, 'f020f120f720'], [false, 'f820fb20'], [false, 'fc20fd20'],
  [false, 'c0'], [false, 'e080'], [false, 'f08080'], [false, 'df'], [false, 'efbf'], [false, 'f7bfbf'],
  [false, 'c0e080f08080dfefbff7bfbf'],
  [false, 'fe'], [false, 'ff'], [false, 'fefeffff'],
  [false, 'c0af'], [false, 'e080af'], [false, 'f08080af'], [false, 'c1bf'], [false, 'e09fbf'], [false, 'f08fbfbf'],
  [false, 'c080'], [false, 'e08080'], [false, 'f0808080'],
  [false, 'eda080'], [false, 'edadbf'], [false, 'edae80'], [false, 'edafbf'], [false, 'edb080'], [false, 'edbe80'], [false, 'edbfbf'],
  [false, 'eda080edb080'], [false, 'edafbfedbfbf'],
  [true, 'efbfbe'], [true, 'efbfbf'], [true, 'efb790'], [true, 'f09fbfbe'], [true, 'f48fbfbe'],
]
SEQUENCES.forEach(([valid, h], i) => {
  for (const [sub, size] of [[5, 0], [6, 1]]) {
    const payload = hex(h)
    add({ id: `6.${sub}.${i + 1}`, desc: `${valid ? 'valid' : 'invalid'} UTF-8 ${h}${size ? ' in 1-byte fragments' : ''}`, ok: valid ? [msg(payload)] : [], close: valid ? NORMAL : BAD_UTF8, run: (p) => p.sendAll(fragments(payload, size)) })
  }
})

// 7: the closing handshake; data after a close frame; close codes and reasons.
const closeCase = (c) => add({ suppressClose: true, ...c })
closeCase({ id: '7.1.1', desc: 'a message, then close', ok: [msg('Hello World!')], close: NORMAL, suppressClose: false, run: (p) => p.send(OP.TEXT, 'Hello World!') })
closeCase({ id: '7.1.2', desc: 'two close frames', ok: [], close: NORMAL, run: async (p) => {
  await p.close(1000)
  await p.send(OP.CLOSE, hex('03e8'))
} })
closeCase({ id: '7.1.3', desc: 'a ping after the close frame (no pong due)', ok: [], close: NORMAL, run: async (p) => {
  await p.close(1000)
  await p.send(OP.PING, '')
} })
closeCase({ id: '7.1.4', desc: 'a text message after the close frame (not delivered)', ok: [], close: NORMAL, run: async (p) => {
  await p.close(1000)
  await p.send(OP.TEXT, 'Hello World!')
} })
closeCase({ id: '7.1.5', desc: 'a fragment, the close frame, the last fragment (no message)', ok: [], close: NORMAL, run: async (p) => {
  await p.send(OP.TEXT, 'fragment1', { fin: false })
  await p.close(1000)
  await p.send(OP.CONT, 'fragment2')
} })
closeCase({ id: '7.3.1', desc: 'close without code or reason', ok: [], close: NORMAL, run: (p) => p.closeRaw(Buffer.alloc(0)) })
closeCase({ id: '7.3.2', desc: 'close with a 1-byte payload', ok: [], close: { byMe: true, codes: [1002], clean: false }, run: (p) => p.closeRaw(Buffer.from('a')) })
closeCase({ id: '7.3.3', desc: 'close with a code (1000)', ok: [], close: NORMAL, run: (p) => p.close(1000) })
closeCase({ id: '7.3.4', desc: 'close with a code and a reason', ok: [], close: NORMAL, run: (p) => p.close(1000, 'Hello World!') })
closeCase({ id: '7.3.5', desc: 'close with a reason of 123 bytes (the most)', ok: [], close: NORMAL, run: (p) => p.close(1000, '*'.repeat(123)) })
closeCase({ id: '7.3.6', desc: 'close with a reason of 124 bytes (payload 126: too long)', ok: [], close: { byMe: true, codes: [1002], clean: false }, run: (p) => p.close(1000, '*'.repeat(124)) })
closeCase({ id: '7.5.1', desc: 'close with a reason that is not UTF-8', ok: [], close: { byMe: true, codes: [1002, 1007], clean: false }, run: (p) => p.closeRaw(Buffer.concat([hex('03e8'), KOSME_BAD])) })
;[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach((code, i) =>
  closeCase({ id: `7.7.${i + 1}`, desc: `close with valid code ${code}`, ok: [], close: { byMe: true, codes: [1000, code], clean: true }, run: (p) => p.close(code) }),
)
;[0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].forEach((code, i) =>
  closeCase({ id: `7.9.${i + 1}`, desc: `close with invalid code ${code}`, ok: [], close: { byMe: true, codes: [1002], clean: false }, run: (p) => p.close(code) }),
)

// 9: large and fragmented messages, checked byte for byte (hashes in the table).
const KIB = 1024
const MIB = 1024 * KIB
const text = (n) => Buffer.alloc(n, 'BAsd7&jh23')
const binary = (n) => Buffer.alloc(n, hex('fe00ff01'))
const big = (desc, payload, isBinary, frames, chop) => ({ desc, ok: [msg(payload, isBinary)], close: NORMAL, bound: 30000, run: (p) => p.sendAll(frames, chop) })
;[64 * KIB, 256 * KIB, MIB, 4 * MIB].forEach((n, i) => {
  add({ id: `9.1.${i + 1}`, ...big(`text message of ${n / KIB} KiB`, text(n), false, [[OP.TEXT, text(n)]]) })
  add({ id: `9.2.${i + 1}`, ...big(`binary message of ${n / KIB} KiB`, binary(n), true, [[OP.BINARY, binary(n)]]) })
})
;[64, 256, KIB, 4 * KIB, 64 * KIB, MIB].forEach((size, i) => {
  for (const [sub, isBinary, body] of [[3, false, text], [4, true, binary]]) {
    const payload = body(MIB)
    const frames = []
    for (let at = 0; at < payload.length; at += size) frames.push([at ? OP.CONT : isBinary ? OP.BINARY : OP.TEXT, payload.subarray(at, at + size), { fin: at + size >= payload.length }])
    add({ id: `9.${sub}.${i + 1}`, ...big(`${isBinary ? 'binary' : 'text'} message of 1 MiB in fragments of ${size} bytes`, payload, isBinary, frames) })
  }
})
;[64, 4 * KIB].forEach((chop, i) => {
  add({ id: `9.5.${i + 1}`, ...big(`text message of 1 MiB in writes of ${chop} bytes`, text(MIB), false, [[OP.TEXT, text(MIB)]], chop) })
  add({ id: `9.6.${i + 1}`, ...big(`binary message of 1 MiB in writes of ${chop} bytes`, binary(MIB), true, [[OP.BINARY, binary(MIB)]], chop) })
})
;[16, KIB].forEach((size, i) => {
  for (const [sub, isBinary, body] of [[7, false, text], [8, true, binary]]) {
    const n = 200
    const payloads = Array.from({ length: n }, (_, k) => Buffer.concat([Buffer.from(`${k}:`), body(size)]))
    add({ id: `9.${sub}.${i + 1}`, desc: `${n} ${isBinary ? 'binary' : 'text'} messages of ${size} bytes, each after the echo of the one before`, ok: payloads.map((m) => msg(m, isBinary)), close: NORMAL, bound: 30000, run: async (p) => {
      for (let k = 0; k < n && p.alive; k++) {
        await p.send(isBinary ? OP.BINARY : OP.TEXT, payloads[k])
        await p.waitFor((r) => r.length > k)
      }
    } })
  }
})

module.exports = { cases }
