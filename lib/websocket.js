'use strict'
// The WHATWG-compatible WebSocket, backed by the native socket.
//
// The native session and its batches are lib/socket-core.js's (shared with
// lib/ws.js, the ws-compatible face); this file turns its callbacks into DOM
// events in order, keeps readyState, and checks arguments exactly as the
// WHATWG spec does (DOMException kinds included).

const { CloseEvent, ErrorEvent, defineEventHandlers, MessageListeners, routeMessageListeners } = require('./events.js')
const { webSocketOptions } = require('./options.js')
const { parseUrl, parseProtocols, checkClose, toBytes, asBinaryType } = require('./data.js')
const { SocketCore } = require('./socket-core.js')

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

const kNative = Symbol('native')
const kMessageListeners = Symbol('messageListeners')

class WebSocket extends EventTarget {
  static CONNECTING = CONNECTING
  static OPEN = OPEN
  static CLOSING = CLOSING
  static CLOSED = CLOSED

  #url
  #origin
  #core
  #readyState = CONNECTING
  #protocol = ''
  #extensions = ''
  #binaryType = 'arraybuffer'
  #blobChain = null // ordering for Blob sends
  #iterators = null // Set of live async iterators, made on first use

  /**
   * @param {string | URL} url
   * @param {string | string[]} [protocols]
   * @param {import('../index').WebSocketOptions} [options]
   */
  constructor(url, protocols, options) {
    super()
    this[kMessageListeners] = new MessageListeners(this)
    if (arguments.length === 0) {
      throw new TypeError("Failed to construct 'WebSocket': 1 argument required, but only 0 present.")
    }
    if (protocols !== null && typeof protocols === 'object' && !Array.isArray(protocols) && !(Symbol.iterator in protocols) && options === undefined) {
      // new WebSocket(url, { headers }) — the ws/undici shorthand
      options = protocols
      protocols = options.protocols
    }
    const parsed = parseUrl(url)
    this.#url = parsed.href
    this.#origin = parsed.origin
    const list = parseProtocols(protocols)
    const native = webSocketOptions(options, list)
    this.#core = new SocketCore(this.#url, native, {
      open: (ev) => this.#open(ev),
      message: (data, ts) => this.#message(typeof data === 'string' ? data : asBinaryType(data, this.#binaryType), ts),
      error: (err) => this.#error(err),
      close: (code, reason, wasClean) => this.#closed(code, reason, wasClean),
    }, { joinTextRuns: true })
    this[kNative] = this.#core.native
  }

  get url() { return this.#url }
  get readyState() { return this.#readyState }
  get protocol() { return this.#protocol }
  get extensions() { return this.#extensions }
  get bufferedAmount() {
    if (this.#readyState === CONNECTING) return 0
    return this.#core.bufferedAmount
  }
  get binaryType() { return this.#binaryType }
  set binaryType(type) {
    if (type === 'arraybuffer' || type === 'blob' || type === 'nodebuffer') this.#binaryType = type
  }

  get CONNECTING() { return CONNECTING }
  get OPEN() { return OPEN }
  get CLOSING() { return CLOSING }
  get CLOSED() { return CLOSED }

  /**
   * Sends `data` (string, ArrayBuffer, ArrayBufferView or Blob).
   * Throws InvalidStateError while CONNECTING, as the spec says.
   */
  send(data) {
    this.#send(data, false)
  }

  /**
   * Like send(), but returns a Promise that resolves when the frame has been
   * written to the socket, and rejects if the connection closes first.
   */
  sendAsync(data) {
    return new Promise((resolve, reject) => {
      try {
        this.#send(data, { resolve, reject })
      } catch (err) {
        reject(err)
      }
    })
  }

  #send(data, waiter) {
    if (this.#readyState === CONNECTING) {
      throw new DOMException("Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.", 'InvalidStateError')
    }
    if (typeof Blob !== 'undefined' && data instanceof Blob) {
      const prev = this.#blobChain || Promise.resolve()
      const chain = prev
        .then(() => data.arrayBuffer())
        .then((ab) => this.#sendNow(new Uint8Array(ab), waiter), (err) => waiter && waiter.reject(err))
      this.#blobChain = chain
      chain.then(() => { if (this.#blobChain === chain) this.#blobChain = null })
      return
    }
    if (this.#blobChain) {
      const bytesOrString = typeof data === 'string' ? data : toBytes(data) || String(data)
      const copy = typeof bytesOrString === 'string' ? bytesOrString : new Uint8Array(bytesOrString)
      this.#blobChain = this.#blobChain.then(() => this.#sendNow(copy, waiter))
      return
    }
    this.#sendNow(data, waiter)
  }

  #sendNow(data, waiter) {
    let bytes = null
    let text = null
    if (typeof data === 'string') text = data
    else if ((bytes = toBytes(data)) === null) text = String(data)
    if (this.#readyState !== OPEN) {
      // The spec: increase bufferedAmount, discard the data.
      this.#core.discard(text !== null ? Buffer.byteLength(text) : bytes.byteLength)
      if (waiter) waiter.reject(new Error(`WebSocket is ${this.#readyState === CLOSING ? 'closing' : 'closed'}: the message was not sent`))
      return
    }
    const done = waiter ? (err) => (err ? waiter.reject(err) : waiter.resolve()) : undefined
    if (!this.#core.send(text !== null ? text : bytes, done) && waiter) {
      waiter.reject(new Error('WebSocket is closing: the message was not sent'))
    }
  }

  /** Starts the closing handshake (WHATWG argument checks). */
  close(code, reason) {
    ;[code, reason] = checkClose(code, reason)
    if (this.#readyState === CLOSING || this.#readyState === CLOSED) return
    this.#readyState = CLOSING
    this.#core.close(code, reason)
  }

  /** Drops the connection at once, without a close handshake (like ws). */
  terminate() {
    if (this.#readyState === CLOSED) return
    this.#readyState = CLOSING
    this.#core.terminate()
  }

  /** Async iteration over incoming messages; ends when the socket closes. */
  [Symbol.asyncIterator]() {
    const queue = []
    const waiting = []
    let done = false
    let failure = null
    const it = {
      push: (value) => {
        if (waiting.length) waiting.shift().resolve({ value, done: false })
        else queue.push(value)
      },
      end: (err) => {
        done = true
        failure = err
        for (const w of waiting.splice(0)) err ? w.reject(err) : w.resolve({ value: undefined, done: true })
      },
    }
    ;(this.#iterators ??= new Set()).add(it)
    if (this.#readyState === CLOSED) it.end(null)
    const self = this
    return {
      next() {
        if (queue.length) return Promise.resolve({ value: queue.shift(), done: false })
        if (done) {
          if (failure) { const f = failure; failure = null; return Promise.reject(f) }
          return Promise.resolve({ value: undefined, done: true })
        }
        return new Promise((resolve, reject) => waiting.push({ resolve, reject }))
      },
      return() {
        self.#iterators?.delete(it)
        it.end(null)
        queue.length = 0
        return Promise.resolve({ value: undefined, done: true })
      },
      [Symbol.asyncIterator]() { return this },
    }
  }

  #message(data, ts) {
    if (this.#readyState !== OPEN) return
    if (this.#iterators !== null) for (const it of this.#iterators) it.push(data)
    this[kMessageListeners].dispatch(data, this.#origin, ts)
  }

  #open(ev) {
    // After close() raced with the handshake the native side aborts; the
    // state stays CLOSING.
    if (this.#readyState === CONNECTING) this.#readyState = OPEN
    this.#protocol = ev.protocol || ''
    this.#extensions = ev.extensions || ''
    this.dispatchEvent(new Event('open'))
  }

  #error(error) {
    this.dispatchEvent(new ErrorEvent('error', { message: error.message, error }))
  }

  #closed(code, reason, wasClean) {
    this.#readyState = CLOSED
    const failure = wasClean ? null : Object.assign(new Error(`WebSocket closed abnormally (${code}): ${reason}`), { code, reason })
    const iterators = this.#iterators
    this.#iterators = null
    if (iterators !== null) for (const it of iterators) it.end(failure)
    this.dispatchEvent(new CloseEvent('close', { code, reason, wasClean }))
  }
}

routeMessageListeners(WebSocket.prototype, kMessageListeners)
defineEventHandlers(WebSocket.prototype, ['open', 'message', 'error', 'close'])

for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true })
  Object.defineProperty(WebSocket, name, { value, enumerable: true })
}

module.exports = { WebSocket, parseUrl, kNative }
