'use strict'
// The WHATWG-compatible WebSocket, backed by the native socket.
//
// The native session and its batches are lib/socket-core.js's (shared with
// lib/ws.js, the ws-compatible face); this file turns its callbacks into DOM
// events in order, keeps readyState, and checks arguments exactly as the
// WHATWG spec does (DOMException kinds included). Its shape is the WebIDL
// one (see the end of this file): constants that cannot be changed,
// enumerable members, brand-checked accessors, a Symbol.toStringTag,
// WebSocket.length 1.

const { CloseEvent, ErrorEvent, defineEventHandlers, MessageListeners, routeMessageListeners, webIdlShape } = require('./events.js')
const { webSocketOptions, signalOf } = require('./options.js')
const { onAbort } = require('./abort.js')
const { parseUrl, dialUrlSendingCredentials, parseProtocols, checkClose, toBytes, asBinaryType } = require('./data.js')
const { SocketCore } = require('./socket-core.js')

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

const kNative = Symbol('native')
const kMessageListeners = Symbol('messageListeners')

let isWebSocket // (value) => whether value is a WebSocket (its brand check)

class WebSocket extends EventTarget {
  /** The SocketCore face of every WebSocket (see lib/socket-core.js). */
  static #face = {
    open: (ws, ev) => ws.#open(ev),
    message: (ws, data, ts) => {
      // A Blob costs an allocation and a copy: make none nobody would see.
      if (ws[kMessageListeners].size === 0 && ws.#iterators === null) return
      ws.#message(typeof data === 'string' ? data : asBinaryType(data, ws.#binaryType), ts)
    },
    error: (ws, err) => ws.#error(err),
    close: (ws, code, reason, wasClean) => ws.#closed(code, reason, wasClean),
  }

  #url
  #origin
  #core
  #readyState = CONNECTING
  #protocol = ''
  #extensions = ''
  #binaryType = 'blob'
  #blobChain = null // ordering for Blob sends
  #iterators = null // Set of live async iterators, made on first use
  #unwatch = null // removes the `signal` listener

  static {
    isWebSocket = (value) => value !== null && typeof value === 'object' && #url in value
  }

  /**
   * @param {string | URL} url
   * @param {string | string[] | import('../index').WebSocketOptions} [protocols]
   *   protocols, or (undici's form) the options with `protocols` in them
   * @param {import('../index').WebSocketOptions} [options] clawsock's options;
   *   anything that is not an object is ignored, as WebIDL ignores extra arguments
   */
  constructor(url, protocols = undefined, options = undefined) {
    super()
    this[kMessageListeners] = new MessageListeners(this)
    if (arguments.length === 0) {
      throw new TypeError("Failed to construct 'WebSocket': 1 argument required, but only 0 present.")
    }
    if (options === null || typeof options !== 'object') options = undefined
    if (protocols !== null && typeof protocols === 'object' && !Array.isArray(protocols) && !(Symbol.iterator in protocols)) {
      // new WebSocket(url, { protocols, headers, ... }): undici's (and ws's) form
      if (options !== undefined) {
        throw new TypeError('clawsock: options were passed twice (as the second and the third argument): pass them once, e.g. new WebSocket(url, { protocols, headers })')
      }
      options = protocols
      protocols = options.protocols
    }
    const parsed = parseUrl(url)
    this.#url = parsed.href
    this.#origin = parsed.origin
    const list = parseProtocols(protocols)
    const native = webSocketOptions(options, list)
    const signal = signalOf('WebSocket', options)
    // user:password@ in the URL: sent as Basic auth, never handed to the native side.
    const dialUrl = dialUrlSendingCredentials(parsed, native)
    this.#core = new SocketCore(dialUrl, native, this, WebSocket.#face, { joinTextRuns: true })
    this[kNative] = this.#core.native
    this.#unwatch = onAbort(signal, () => this.close())
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
    // Other values are ignored, as the WHATWG enum attribute does.
    if (type === 'arraybuffer' || type === 'blob' || type === 'nodebuffer') this.#binaryType = type
    else void this.#binaryType // brand check: TypeError on a foreign `this`
  }

  /**
   * Sends `data` (string, ArrayBuffer, ArrayBufferView or Blob).
   * Throws InvalidStateError while CONNECTING, as the spec says.
   */
  send(data) {
    if (arguments.length === 0) {
      void this.#url // brand check first, as WebIDL does
      throw new TypeError("Failed to execute 'send' on 'WebSocket': 1 argument required, but only 0 present.")
    }
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
  close(code = undefined, reason = undefined) {
    void this.#url // brand check first, as WebIDL does
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

  // The connection failed: the spec makes it CLOSED before 'error' (a
  // failure's error is always followed by its close).
  #error(error) {
    this.#readyState = CLOSED
    this.dispatchEvent(new ErrorEvent('error', { message: error.message, error }))
  }

  #closed(code, reason, wasClean) {
    this.#readyState = CLOSED
    this.#unwatch?.()
    this.#unwatch = null
    const failure = wasClean ? null : Object.assign(new Error(`WebSocket closed abnormally (${code}): ${reason}`), { code, reason })
    const iterators = this.#iterators
    this.#iterators = null
    if (iterators !== null) for (const it of iterators) it.end(failure)
    this.dispatchEvent(new CloseEvent('close', { code, reason, wasClean }))
  }
}

routeMessageListeners(WebSocket.prototype, kMessageListeners)
defineEventHandlers(WebSocket.prototype, ['open', 'message', 'error', 'close'], isWebSocket)
webIdlShape(WebSocket, 'WebSocket', ['url', 'readyState', 'bufferedAmount', 'extensions', 'protocol', 'binaryType', 'close', 'send'])

// The constants, as WebIDL defines them: enumerable, read-only, permanent.
for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  const constant = { value, enumerable: true, writable: false, configurable: false }
  Object.defineProperty(WebSocket, name, constant)
  Object.defineProperty(WebSocket.prototype, name, constant)
}

module.exports = { WebSocket, parseUrl, kNative }
