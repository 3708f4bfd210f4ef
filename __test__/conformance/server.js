'use strict'
// The conformance server: a raw TCP server that does the WebSocket upgrade
// itself and then plays one case per connection (path /case/<id>), with
// hand-built frames, while the client under test echoes every message. It
// records what the client sent back (messages, pongs, its close frame) and
// how the connection ended, from the server's side, the way the Autobahn
// TestSuite's fuzzing server does (see judge.js for the verdict).

const net = require('node:net')
const { encodeFrame, closePayload, parseClientFrames, parseRequest, response101, bytes } = require('./wire.js')

const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 }
const HEAD_MAX = 16 * 1024

/** Lets the event loop run, so that each write is a write of its own. */
function pace(pieces) {
  // Few pieces: 1 ms apart, so that each one reaches the client as a read
  // of its own. Many: one event-loop turn apart.
  return new Promise((resolve) => (pieces <= 400 ? setTimeout(resolve, 1) : setImmediate(resolve)))
}

/** The server's side of one connection: what a case script drives. */
class Peer {
  constructor(socket) {
    this.socket = socket
    this.received = [] // ['message', Buffer, binary] | ['pong', Buffer] | ['ping', Buffer] | ['timeout', label]
    this.state = 'open' // 'open' | 'closing' (our close sent) | 'closed' (handshake done)
    this.closedByMe = null
    this.sentClose = null // { code, reason } of our first close frame
    this.remoteCloseCode = null
    this.wasClean = false
    this.clientError = null
    this.timedOut = false
    this.fragment = null
    this.inbuf = Buffer.alloc(0)
    this.listeners = new Set()
    this.ended = new Promise((resolve) => socket.once('close', resolve)).then(() => {
      if (this.closedByMe === null) this.closedByMe = false
      if (this.state !== 'closed') this.wasClean = false
      this.changed()
    })
  }

  get alive() {
    return this.state === 'open' && !this.socket.destroyed
  }

  changed() {
    for (const f of [...this.listeners]) f()
  }

  /** Resolves when `pred(received)` holds or the connection is over. */
  waitFor(pred) {
    return new Promise((resolve) => {
      const check = () => {
        if (pred(this.received) || this.state !== 'open' || this.socket.destroyed) {
          this.listeners.delete(check)
          resolve()
        }
      }
      this.listeners.add(check)
      check()
    })
  }

  /** Whether the client closed (or failed) the connection within `ms`. */
  waitClose(ms) {
    return new Promise((resolve) => {
      let timer = null
      const check = () => {
        if (this.state !== 'open' || this.socket.destroyed) {
          this.listeners.delete(check)
          clearTimeout(timer)
          resolve(true)
        }
      }
      timer = setTimeout(() => {
        this.listeners.delete(check)
        resolve(false)
      }, ms)
      this.listeners.add(check)
      check()
    })
  }

  /** Records a label, as Autobahn records a wait that passed. */
  mark(label) {
    this.received.push(['timeout', label])
  }

  /** Writes `buf`, in writes of `chop` bytes each if given. */
  async write(buf, chop) {
    if (!chop || chop >= buf.length) {
      if (!this.socket.destroyed) this.socket.write(buf)
      return
    }
    const pieces = Math.ceil(buf.length / chop)
    for (let i = 0; i < buf.length; i += chop) {
      if (this.socket.destroyed) return
      this.socket.write(buf.subarray(i, i + chop))
      await pace(pieces)
    }
  }

  /** Sends one frame: `send(OP.TEXT, 'x', { fin, rsv, chop, len })`. */
  send(opcode, payload, { chop, ...rest } = {}) {
    return this.write(encodeFrame({ opcode, payload, ...rest }), chop)
  }

  /** Sends several frames ([opcode, payload, opts]) in one buffer. */
  sendAll(frames, chop) {
    const wire = frames.map(([opcode, payload, opts]) => encodeFrame({ opcode, payload, ...opts }))
    return this.write(Buffer.concat(wire), chop)
  }

  /** Starts the closing handshake with `code` and `reason` (or a raw close payload). */
  close(code, reason = '') {
    return this.closeRaw(closePayload(code, reason), { code: code ?? null, reason: bytes(reason).toString() })
  }

  closeRaw(payload, shown) {
    if (this.state !== 'open') return Promise.resolve()
    this.state = 'closing'
    if (this.closedByMe === null) this.closedByMe = true
    this.sentClose = shown || {
      code: payload.length >= 2 ? payload.readUInt16BE(0) : null,
      reason: payload.subarray(2).toString(),
    }
    return this.write(encodeFrame({ opcode: OP.CLOSE, payload }))
  }

  /** The client's bytes after the handshake. */
  onData(chunk) {
    if (this.state === 'closed') return
    this.inbuf = Buffer.concat([this.inbuf, chunk])
    const { frames, rest, error } = parseClientFrames(this.inbuf)
    this.inbuf = rest
    for (const f of frames) this.onFrame(f)
    if (error) this.violation(error)
    this.changed()
  }

  violation(why) {
    this.clientError = this.clientError || why
    this.socket.destroy()
  }

  onFrame(f) {
    if (this.state === 'closed') return
    if (f.rsv) return this.violation(`the client set RSV bits (${f.rsv})`)
    switch (f.opcode) {
      case OP.TEXT:
      case OP.BINARY:
        if (this.fragment) return this.violation('the client started a message inside a fragmented one')
        if (f.fin) return this.received.push(['message', f.payload, f.opcode === OP.BINARY])
        this.fragment = { binary: f.opcode === OP.BINARY, parts: [f.payload] }
        return
      case OP.CONT:
        if (!this.fragment) return this.violation('the client sent a continuation with nothing to continue')
        this.fragment.parts.push(f.payload)
        if (f.fin) {
          this.received.push(['message', Buffer.concat(this.fragment.parts), this.fragment.binary])
          this.fragment = null
        }
        return
      case OP.PING:
        this.received.push(['ping', f.payload])
        if (this.state === 'open') this.socket.write(encodeFrame({ opcode: OP.PONG, payload: f.payload }))
        return
      case OP.PONG:
        return this.received.push(['pong', f.payload])
      case OP.CLOSE: {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null
        this.remoteCloseCode = code
        if (this.state === 'open') {
          // The client closes first: answer with its code, as Autobahn does.
          this.closedByMe = false
          this.socket.write(encodeFrame({ opcode: OP.CLOSE, payload: closePayload(code) }))
        }
        // Both close frames are out: the server closes TCP (RFC 6455 §7.1.1).
        this.state = 'closed'
        this.wasClean = true
        this.socket.end()
        return
      }
      default:
        return this.violation(`the client sent opcode ${f.opcode}`)
    }
  }
}

/** Reads the request head; resolves with it and whatever followed it. */
function readHead(socket) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0)
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk])
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0 && buf.length <= HEAD_MAX) return
      socket.removeListener('data', onData)
      if (end < 0) return reject(new Error('the request head has no end'))
      resolve({ head: buf.subarray(0, end), rest: buf.subarray(end + 4) })
    }
    socket.on('data', onData)
    socket.once('close', () => reject(new Error('the client went away before its request ended')))
  })
}

/**
 * Starts the server; `cases` maps an id to its case. Returns { port,
 * outcome(id), close() }: `outcome(id)` resolves with the Peer once that
 * case's connection has ended.
 */
async function startServer(cases) {
  const waiting = new Map()
  const outcome = (id) => {
    if (!waiting.has(id)) {
      let resolve
      const promise = new Promise((r) => (resolve = r))
      waiting.set(id, { promise, resolve })
    }
    return waiting.get(id).promise
  }
  const sockets = new Set()
  const server = net.createServer(async (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.setNoDelay(true)
    socket.on('error', () => {})
    let request
    try {
      request = await readHead(socket)
    } catch {
      return socket.destroy()
    }
    const { path, key, problem } = parseRequest(request.head)
    const id = decodeURIComponent((path || '').replace(/^\/case\//, ''))
    const c = cases.get(id)
    if (!c) return socket.destroy()
    outcome(id)
    const p = new Peer(socket)
    p.opened = false
    if (problem) {
      p.clientError = `bad upgrade request: ${problem}`
      socket.destroy()
    } else {
      socket.on('data', (d) => p.onData(d))
      if (request.rest.length) p.onData(request.rest)
      const hs = c.handshake || {}
      const extra = (hs.frames || []).map(([opcode, payload, opts]) => encodeFrame({ opcode, payload, ...opts }))
      p.opened = true
      await p.write(Buffer.concat([response101(key), ...extra]), hs.chop)
      await play(c, p)
    }
    await p.ended
    waiting.get(id).resolve(p)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    outcome,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(resolve))
    },
  }
}

/** Runs a case's script, closes when the expected events are in, and bounds the wait. */
async function play(c, p) {
  await c.run(p)
  if (c.close.byMe && !c.suppressClose) {
    // As Autobahn's finishWhenDone: once the echo is complete, close.
    const matches = () => sameEvents(p.received, c.ok)
    p.waitFor(matches).then(() => {
      if (p.alive && matches()) p.close(c.close.codes[0])
    })
  }
  // A client that never ends the case (no echo, no close) is cut off: the
  // bound is only ever reached by a failing client.
  const bound = setTimeout(() => {
    if (!p.socket.destroyed) {
      p.timedOut = true
      p.socket.destroy()
    }
  }, c.bound || 3000)
  await p.ended
  clearTimeout(bound)
}

/** Event lists are equal (payloads compared byte for byte). */
function sameEvents(a, b) {
  if (a.length !== b.length) return false
  return a.every((e, i) => {
    const f = b[i]
    if (e[0] !== f[0]) return false
    if (e[0] === 'timeout') return e[1] === f[1]
    if (!Buffer.from(e[1]).equals(Buffer.from(f[1]))) return false
    return e[0] !== 'message' || e[2] === f[2]
  })
}

module.exports = { OP, startServer, sameEvents }
