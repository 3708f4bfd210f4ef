'use strict'
// `clawsock/ws`: ws's client contract (ws 8) over clawsock's native session.
// `const WebSocket = require('clawsock/ws')` is the whole swap for a ws
// client. This is a thin face over lib/socket-core.js, the same core the
// WHATWG WebSocket (lib/websocket.js) uses: it extends node:events'
// EventEmitter and emits ws's events with ws's arguments, in ws's order:
//
//   'upgrade' (res) -> 'open' -> 'message' (data, isBinary) / 'ping' (data)
//   / 'pong' (data) ... -> 'close' (code, reasonBuffer)
//   failure: 'unexpected-response' (req, res) for a non-101 answer if
//   listened to, else 'error' (err); then 'close' (1006, <empty Buffer>)
//
// What differs from ws is listed in README.md ("Coming from ws").

const { EventEmitter } = require('node:events')
const { Readable } = require('node:stream')
const { STATUS_CODES } = require('node:http')
const { webSocketOptions } = require('./options.js')
const { parseUrl, parseProtocols, toBytes, asBinaryType } = require('./data.js')
const { SocketCore } = require('./socket-core.js')
const { defineEventTarget } = require('./ws-event-target.js')

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3
const STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']
const BINARY_TYPES = ['nodebuffer', 'arraybuffer', 'fragments', 'blob']
const EMPTY = Buffer.alloc(0)
const SEND_OPTIONS = ['binary', 'compress', 'fin', 'mask']

function notOpen(state) {
  return new Error(`WebSocket is not open: readyState ${state} (${STATES[state]})`)
}

/** ws's valid close codes for close(): 1000-1014 except 1004-1006, 3000-4999. */
function validCloseCode(code) {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999)
}

/** Send data as ws takes it: string, Buffer, ArrayBuffer, a view, or a number. */
function toPayload(data) {
  if (typeof data === 'number') return String(data)
  if (typeof data === 'string') return data
  if (data === undefined || data === null) return EMPTY
  const bytes = toBytes(data)
  if (bytes !== null) return bytes
  if (typeof Blob !== 'undefined' && data instanceof Blob) {
    throw new TypeError('clawsock/ws: sending a Blob is not supported yet: send Buffer.from(await blob.arrayBuffer())')
  }
  throw new TypeError(`clawsock/ws: cannot send ${typeof data === 'object' ? Object.prototype.toString.call(data) : typeof data}: send a string, Buffer, ArrayBuffer or typed array`)
}

function byteLength(payload) {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Headers as Node has them on an IncomingMessage: lower-case names, repeated ones joined (set-cookie: an array). */
function headersOf(raw) {
  const headers = {}
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase()
    const value = raw[i + 1]
    if (name === 'set-cookie') (headers[name] ??= []).push(value)
    else headers[name] = name in headers ? `${headers[name]}, ${value}` : value
  }
  return headers
}

/** An IncomingMessage-like response: a Readable of the body with statusCode, statusMessage, headers, rawHeaders. */
function responseLike(statusCode, rawHeaders, body) {
  const res = Readable.from(body ? [Buffer.from(body)] : [])
  res.statusCode = statusCode
  res.statusMessage = STATUS_CODES[statusCode] ?? ''
  res.rawHeaders = rawHeaders
  res.headers = headersOf(rawHeaders)
  return res
}

class WebSocket extends EventEmitter {
  /** The SocketCore face of every WebSocket (see lib/socket-core.js). */
  static #face = {
    open: (ws, ev) => ws.#open(ev),
    message: (ws, data) => ws.#deliver('message', data),
    ping: (ws, data) => ws.#deliver('ping', data),
    pong: (ws, data) => ws.#deliver('pong', data),
    error: (ws, err, ev) => ws.#error(err, ev),
    close: (ws, code, reason, wasClean) => ws.#close(code, reason, wasClean),
  }

  static CONNECTING = CONNECTING
  static OPEN = OPEN
  static CLOSING = CLOSING
  static CLOSED = CLOSED

  #core
  #url
  #readyState = CONNECTING
  #protocol = ''
  #extensions = ''
  #binaryType = 'nodebuffer'
  #paused = false
  #held = [] // events that arrived while paused, in order: [name, ...args]
  #flushing = false
  #terminated = false
  #wasClean = false
  #preOpenBuffered = 0
  #fragments = null // { parts, binary, cbs } of a message sent with fin: false

  /**
   * @param {string | URL} address
   * @param {string | string[]} [protocols]
   * @param {object} [options] ws's client options (see index.d.ts)
   */
  constructor(address, protocols, options) {
    super()
    if (protocols === undefined) protocols = []
    else if (!Array.isArray(protocols)) {
      if (typeof protocols === 'object' && protocols !== null) {
        options = protocols
        protocols = []
      } else protocols = [protocols]
    }
    const parsed = parseUrl(address)
    this.#url = parsed.href
    const native = webSocketOptions(options, parseProtocols(protocols))
    this.#core = new SocketCore(this.#url, native, this, WebSocket.#face, { controlFrames: true })
  }

  get url() { return this.#url }
  get readyState() { return this.#readyState }
  get protocol() { return this.#protocol }
  get extensions() { return this.#extensions }
  get isPaused() { return this.#paused }
  get bufferedAmount() {
    return this.#readyState === CONNECTING ? this.#preOpenBuffered : this.#core.bufferedAmount
  }

  get binaryType() { return this.#binaryType }
  set binaryType(type) {
    if (!BINARY_TYPES.includes(type)) {
      throw new TypeError(`clawsock/ws: binaryType must be one of ${BINARY_TYPES.map((t) => `'${t}'`).join(', ')}, got ${JSON.stringify(type)}`)
    }
    this.#binaryType = type
  }

  /**
   * Sends `data`. `options.binary` picks the frame type (default: binary
   * for anything but a string); `options.fin: false` holds the data until a
   * send with `fin: true` and sends the parts as one message; `compress` is
   * accepted (nothing is compressed). `cb(err)` runs once the message is
   * written, or with the error that lost it.
   */
  send(data, options, cb) {
    if (typeof options === 'function') {
      cb = options
      options = {}
    }
    if (this.#readyState === CONNECTING) throw notOpen(CONNECTING)
    const opts = this.#sendOptions(options)
    let payload = toPayload(data)
    if (this.#readyState !== OPEN) return this.#afterClose(payload, cb)
    const binary = opts.binary ?? typeof payload !== 'string'
    if (this.#fragments !== null || opts.fin === false) {
      const f = (this.#fragments ??= { parts: [], binary, cbs: [] })
      f.parts.push(typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload))
      if (typeof cb === 'function') f.cbs.push(cb)
      if (opts.fin === false) return
      this.#fragments = null
      const whole = Buffer.concat(f.parts)
      return this.#sendNow(f.binary ? whole : this.#text(whole), (err) => { for (const c of f.cbs) c(err) })
    }
    if (!binary && typeof payload !== 'string') payload = this.#text(payload)
    else if (binary && typeof payload === 'string') payload = Buffer.from(payload)
    this.#sendNow(payload, cb)
  }

  #sendOptions(options) {
    if (options === undefined || options === null) return {}
    if (typeof options !== 'object') throw new TypeError(`clawsock/ws: send options must be an object, got ${typeof options}`)
    for (const key of Object.keys(options)) {
      if (!SEND_OPTIONS.includes(key)) throw new TypeError(`clawsock/ws: send option '${key}' is not known; known: ${SEND_OPTIONS.join(', ')}`)
    }
    if (options.mask === false) {
      throw new TypeError('clawsock/ws: send option mask: false cannot be honoured: a client must mask every frame (RFC 6455 5.3) and clawsock always does')
    }
    return options
  }

  #text(bytes) {
    try {
      return strictUtf8.decode(bytes)
    } catch {
      throw new TypeError('clawsock/ws: send(data, { binary: false }) needs data that is valid UTF-8 (a text frame must be); send it as binary')
    }
  }

  #sendNow(payload, cb) {
    const done = typeof cb === 'function' ? cb : undefined
    if (!this.#core.send(payload, done)) this.#afterClose(payload, cb)
  }

  /** ws's sendAfterClose: counted in bufferedAmount, cb gets an error. */
  #afterClose(payload, cb) {
    const n = byteLength(payload)
    if (this.#readyState === CONNECTING) this.#preOpenBuffered += n
    else this.#core.discard(n)
    if (typeof cb === 'function') process.nextTick(cb, notOpen(this.#readyState))
  }

  /** Sends a ping with `data` (at most 125 bytes). `cb` runs once it is queued for writing. */
  ping(data, mask, cb) {
    this.#control(false, data, mask, cb)
  }

  /** Sends an unsolicited pong with `data` (at most 125 bytes). Pings are answered by clawsock itself. */
  pong(data, mask, cb) {
    this.#control(true, data, mask, cb)
  }

  #control(pong, data, mask, cb) {
    if (this.#readyState === CONNECTING) throw notOpen(CONNECTING)
    if (typeof data === 'function') {
      cb = data
      data = mask = undefined
    } else if (typeof mask === 'function') {
      cb = mask
      mask = undefined
    }
    if (mask === false) throw new TypeError('clawsock/ws: mask: false cannot be honoured: a client must mask every frame (RFC 6455 5.3)')
    const payload = toPayload(data)
    if (this.#readyState !== OPEN) return this.#afterClose(payload, cb)
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload
    if (bytes.byteLength > 125) throw new RangeError('The data size must not be greater than 125 bytes')
    if (!this.#core.sendControl(pong, bytes)) return this.#afterClose(payload, cb)
    if (typeof cb === 'function') process.nextTick(cb, null)
  }

  /** Starts the closing handshake; while connecting, fails the connection (as ws). */
  close(code, reason) {
    if (this.#readyState === CLOSED) return
    if (this.#readyState === CONNECTING) {
      this.#readyState = CLOSING
      this.#core.close()
      return
    }
    if (this.#readyState === CLOSING) return
    if (code !== undefined && (typeof code !== 'number' || !validCloseCode(code))) {
      throw new TypeError('First argument must be a valid error code number')
    }
    const text = reason === undefined ? '' : Buffer.isBuffer(reason) ? reason.toString() : String(reason)
    if (Buffer.byteLength(text) > 123) throw new RangeError('The message must not be greater than 123 bytes')
    this.#readyState = CLOSING
    // A paused socket must still read the server's close frame.
    if (this.#paused) this.#core.pauseReading(false)
    this.#core.close(code, code === undefined ? undefined : text)
  }

  /** Drops the connection at once, without a closing handshake. */
  terminate() {
    if (this.#readyState === CLOSED) return
    this.#terminated = true
    this.#readyState = CLOSING
    this.#core.terminate()
  }

  /** Stops delivering messages and reading the socket (TCP backpressure reaches the server). */
  pause() {
    if (this.#readyState === CONNECTING || this.#readyState === CLOSED) return
    this.#paused = true
    if (this.#readyState === OPEN) this.#core.pauseReading(true)
  }

  /** Delivers what arrived while paused, then reads the socket again. */
  resume() {
    if (this.#readyState === CONNECTING || this.#readyState === CLOSED) return
    this.#paused = false
    this.#core.pauseReading(false)
    if (this.#held.length) process.nextTick(() => this.#flush())
  }

  #flush() {
    if (this.#flushing) return
    this.#flushing = true
    try {
      while (!this.#paused && this.#held.length) this.#emitData(...this.#held.shift())
    } finally {
      this.#flushing = false
    }
  }

  #open(ev) {
    if (this.#readyState !== CONNECTING) return
    this.#protocol = ev.protocol || ''
    this.#extensions = ev.extensions || ''
    this.emit('upgrade', responseLike(101, ev.rawHeaders || [], null))
    if (this.#readyState !== CONNECTING) return // closed or terminated in 'upgrade'
    this.#readyState = OPEN
    this.emit('open')
  }

  #deliver(name, data) {
    if (this.#paused || this.#held.length) this.#held.push([name, data])
    else this.#emitData(name, data)
  }

  #emitData(name, data) {
    if (name !== 'message') return this.emit(name, data)
    if (typeof data === 'string') return this.emit('message', Buffer.from(data), false)
    const t = this.#binaryType
    this.emit('message', t === 'fragments' ? [data] : asBinaryType(data, t), true)
  }

  #error(err, ev) {
    // terminate() is not an error in ws.
    if (this.#terminated && ev.kind === 'connection') return
    if (ev.kind === 'http-status' && this.listenerCount('unexpected-response') > 0) {
      const u = new URL(this.#url)
      const req = { method: 'GET', host: u.host, path: u.pathname + u.search, abort() {}, destroy() {} }
      this.emit('unexpected-response', req, responseLike(ev.status, ev.rawHeaders || [], ev.body))
      return
    }
    this.emit('error', err)
  }

  #close(code, reason, wasClean) {
    // What arrived while paused is delivered before the close.
    this.#paused = false
    this.#flush()
    this.#readyState = CLOSED
    this.#wasClean = wasClean
    // ws has no reason for a 1006 (the 'error' event said what went wrong).
    this.emit('close', code, code === 1006 ? EMPTY : Buffer.from(reason))
  }

  /** For the DOM CloseEvent (ws-event-target.js). */
  get wasClean() { return this.#wasClean }
}

for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true })
}
defineEventTarget(WebSocket.prototype)

module.exports = { WebSocket }
