'use strict'
// ReconnectingWebSocket: a WebSocket that reconnects with backoff, queues
// messages while disconnected, and stops for good (with a plain-English
// reason) when reconnecting cannot help: a final close code such as 4001
// "Replaced" (a kick war), a flapping server, or retries used up.
//
// The loop runs in Rust (src/session/driver.rs); lib/options.js checks the
// options. This file keeps each message's original value until it is written
// or handed back, and turns the native events (one array per wake-up) into
// DOM events.
//
// App-level ready (the `ready` option): 'open' is transport-open only. The
// ready function runs for each connection; until it resolves, the send queue
// holds and the connection does not count as opened (the backoff does not
// reset); then 'ready' follows. If it rejects, that connection is closed
// with 1011 and the attempt counts as failed; so it is if it has not answered
// within readyTimeout (30 s unless set; Rust keeps that deadline and reports
// an error of kind 'ready-timeout'). Connections are numbered by
// their 'open' events, here and in Rust (src/session/ready.rs), so a late
// answer never applies to the next connection. Without the option, 'ready'
// follows 'open' at once.
//
// Lifecycle: every instance ends with exactly one `terminal` event, also
// after close() (kind 'user-closed'). After it, the native handle is
// released and the instance no longer keeps Node's event loop alive.

const native = require('../native.js')
const { CloseEvent, ErrorEvent, defineEventHandlers, MessageListeners, routeMessageListeners } = require('./events.js')
const { reconnectingOptions, attemptHeaders } = require('./options.js')
const { parseUrl, dialUrlSendingCredentials, parseProtocols, checkClose, toBytes, asBinaryType, forEachInBatch } = require('./data.js')
const { onAbort } = require('./abort.js')

const kDispatch = Symbol('dispatch')
const kNative = Symbol('native')
const kMessageListeners = Symbol('messageListeners')

const USER_CLOSED = 'the client is closed (close() was called); the message was not sent'
const LOST_IN_WRITE = (code) =>
  `the connection closed (code ${code}) while this message was being written: it may or may not have reached the server, so it is not sent again`

// ---------------------------------------------------------------------------
// Events

class ReconnectingEvent extends Event {
  #attempt
  #delay
  #lastClose
  #fromServer
  #retryAfter
  constructor(type, init = {}) {
    super(type, init)
    this.#attempt = Number(init.attempt) || 0
    this.#delay = Number(init.delay) || 0
    this.#lastClose = Object.freeze({ code: Number(init.lastClose?.code) || 0, reason: String(init.lastClose?.reason ?? '') })
    this.#fromServer = Boolean(init.fromServer)
    this.#retryAfter = init.retryAfter == null ? null : Number(init.retryAfter)
  }
  /** The retry number since the last stable connection (1 = first). */
  get attempt() { return this.#attempt }
  /** Milliseconds until the next connection attempt. */
  get delay() { return this.#delay }
  /** How the last connection ended (code 1006 and the error for a failed attempt). */
  get lastClose() { return this.#lastClose }
  /** Whether the server set the delay (`Retry-After` on a 429 or 503 answer). */
  get fromServer() { return this.#fromServer }
  /** The server's `Retry-After` in milliseconds (capped at 5 minutes), or null. */
  get retryAfter() { return this.#retryAfter }
}

class TerminalEvent extends Event {
  #code
  #reason
  #message
  #kind
  #codes
  #status
  constructor(type, init = {}) {
    super(type, init)
    this.#code = Number(init.code) || 0
    this.#reason = String(init.reason ?? '')
    this.#message = String(init.message ?? '')
    this.#kind = String(init.kind ?? '')
    this.#codes = init.codes === undefined ? undefined : Object.freeze([...init.codes])
    this.#status = init.status == null ? undefined : Number(init.status)
  }
  /** Close code of the last connection (1006 after a failed attempt). */
  get code() { return this.#code }
  /** Close reason of the last connection. */
  get reason() { return this.#reason }
  /** What happened, why this client stopped, and what to do. */
  get message() { return this.#message }
  /** 'final-code' | 'flapping' | 'retries-exhausted' | 'handshake-rejected' | 'user-closed' */
  get kind() { return this.#kind }
  /** For 'flapping': the close codes of the run, oldest first. */
  get codes() { return this.#codes }
  /** For 'handshake-rejected': the HTTP status (undefined for a rejected certificate). */
  get status() { return this.#status }
}

class DroppedEvent extends Event {
  #messages
  constructor(type, init = {}) {
    super(type, init)
    this.#messages = Object.freeze([...(init.messages || [])].map((m) => Object.freeze({ data: m.data, reason: String(m.reason) })))
  }
  /** The messages that will not be sent: the original values, with why. */
  get messages() { return this.#messages }
}

function sendError(message, code, extra) {
  return Object.assign(new Error(`clawsock: the message was not sent: ${message}`), { code }, extra)
}

// ---------------------------------------------------------------------------
// The class

class ReconnectingWebSocket extends EventTarget {
  #url = ''
  #origin = ''
  #native
  #state = 'connecting'
  #protocol = ''
  #extensions = ''
  #binaryType = 'arraybuffer'
  #sink = {
    message: (data, ts) => this.#message(typeof data === 'string' ? data : asBinaryType(data, this.#binaryType), ts),
    control: (ev) => this.#control(ev),
    count: (n, payload) => {
      this.#stats.messagesIn += n
      this.#stats.bytesIn += typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength
    },
  }
  #predicate = null
  #isFinalHandshake = null
  #urlFn = null
  #dialUrl = null
  #headersFn = null
  #protocolsFn = null
  #originOption
  #targetError = null
  #readyFn = null
  /** The connection whose ready step timed out (its answer is ignored). */
  #readyTimedOut = 0
  #conn = 0 // 'open' events so far: the current connection's number
  #unwatch = null // removes the `signal` listener
  #terminal = null
  #pending = new Map() // id -> { data, bytes, resolve?, reject? }, in id order
  #stats = { connects: 0, reconnects: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 }

  /**
   * @param {string | URL} url
   * @param {string | string[]} [protocols]
   * @param {import('../index').ReconnectingWebSocketOptions} [options]
   */
  constructor(url, protocols, options) {
    super()
    this[kMessageListeners] = new MessageListeners(this)
    if (arguments.length === 0) {
      throw new TypeError("Failed to construct 'ReconnectingWebSocket': 1 argument required, but only 0 present.")
    }
    if (protocols !== null && typeof protocols === 'object' && !Array.isArray(protocols) && !(Symbol.iterator in protocols) && options === undefined) {
      options = protocols
      protocols = options.protocols
    }
    // url, protocols and options.headers may be functions: called before
    // every attempt, so each attempt carries fresh credentials.
    if (typeof url === 'function') this.#urlFn = url
    else {
      const parsed = parseUrl(url, 'ReconnectingWebSocket')
      this.#url = parsed.href
      this.#origin = parsed.origin
    }
    if (typeof protocols === 'function') this.#protocolsFn = protocols
    const list = this.#protocolsFn ? [] : parseProtocols(protocols, 'ReconnectingWebSocket')
    // Every attempt waits for this thread's go-ahead (a `dial` event, answered
    // by setTarget): so a close() in the same turn as the constructor, or
    // while a `dial` is on its way, stops the client before any upgrade is
    // sent (the native session starts dialing on its own thread at once
    // otherwise: a close() right after construction raced it).
    const { connect, reconnect, predicate, isFinal, headersFn, ready, signal } = reconnectingOptions(options, list, { askTarget: true })
    this.#readyFn = ready || null
    this.#predicate = predicate
    this.#isFinalHandshake = isFinal || null
    this.#headersFn = headersFn || null
    this.#origin ||= ''
    this.#originOption = options && options.origin !== undefined ? String(options.origin) : undefined
    // user:password@ in a fixed URL: sent as Basic auth, never handed to the native side.
    const dialUrl = this.#urlFn ? this.#url : dialUrlSendingCredentials(new URL(this.#url), connect)
    this.#dialUrl = dialUrl
    this.#native = new native.NativeReconnectingWebSocket(dialUrl, connect, reconnect, (batch) => this[kDispatch](batch))
    // Runs of text messages arrive joined: see kDispatch.
    this.#native.joinTextRuns()
    this[kNative] = this.#native
    this.#unwatch = onAbort(signal, () => this.close())
  }

  get url() { return this.#url }
  /** 'connecting' | 'open' | 'reconnecting' | 'closed' */
  get state() { return this.#state }
  /** Why it stopped for good ({code, reason, message, kind, codes?}), or null. */
  get terminalReason() { return this.#terminal }
  /** Counters: connects, reconnects, messagesIn, messagesOut, bytesIn, bytesOut. */
  get stats() { return { ...this.#stats } }
  /** Messages and bytes waiting for a connection. */
  get queued() {
    if (this.#terminal) return { messages: 0, bytes: 0 }
    return { messages: this.#native.queuedMessages, bytes: this.#native.queuedBytes }
  }
  get protocol() { return this.#protocol }
  get extensions() { return this.#extensions }
  get binaryType() { return this.#binaryType }
  set binaryType(type) {
    if (type === 'arraybuffer' || type === 'blob' || type === 'nodebuffer') this.#binaryType = type
  }

  /**
   * Sends `data` now if connected, or queues it until the next connection.
   * Returns true if it was taken; false if not (the queue is full under
   * 'reject-new', or the client is closed): a `dropped` event hands it back.
   * Under 'drop-oldest', older queued messages may be handed back instead.
   */
  send(data) {
    return this.#send(data, null)
  }

  /**
   * Like send(), but resolves when the message was written to a socket, and
   * rejects (err.code CLAWSOCK_QUEUE_FULL, CLAWSOCK_DROPPED, CLAWSOCK_CLOSED
   * or CLAWSOCK_TERMINAL) when it will not be sent.
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

  /**
   * Writes `data` on the open connection now, past the queue and the ready
   * gate: for the messages of the `ready` step itself (authentication).
   * Returns false (and sends nothing) when no connection is open. Not
   * queued, not retried, not counted in `stats`.
   */
  sendNow(data) {
    if (this.#state !== 'open') return false
    if (typeof data === 'string') return this.#native.sendNowText(data)
    const bytes = toBytes(data)
    if (bytes === null) return this.#native.sendNowText(String(data))
    return this.#native.sendNowBinary(bytes)
  }

  #send(data, waiter) {
    if (typeof Blob !== 'undefined' && data instanceof Blob) {
      throw new TypeError('clawsock: ReconnectingWebSocket cannot send a Blob; send await blob.arrayBuffer() instead')
    }
    let text = null
    let bytes = null
    if (typeof data === 'string') text = data
    else if ((bytes = toBytes(data)) === null) text = String(data)
    const size = text !== null ? Buffer.byteLength(text) : bytes.byteLength
    if (this.#state === 'closed') {
      const reason = this.#terminal ? this.#terminal.message : USER_CLOSED
      this.#handBack([{ data, reason, waiter, error: sendError(reason, this.#terminal ? 'CLAWSOCK_TERMINAL' : 'CLAWSOCK_CLOSED', this.#terminal ? { terminal: this.#terminal } : {}) }])
      return false
    }
    let id = text !== null ? this.#native.sendText(text) : this.#native.sendBinary(bytes)
    if (id > 0) {
      this.#pending.set(id, { data, bytes: size, waiter })
      return true
    }
    const outcome = this.#native.takeOutcome()
    id = outcome.id
    if (id < 0) {
      const code = outcome.closed ? 'CLAWSOCK_CLOSED' : 'CLAWSOCK_QUEUE_FULL'
      this.#handBack([{ data, reason: outcome.reason, waiter, error: sendError(outcome.reason, code) }])
      return false
    }
    this.#pending.set(id, { data, bytes: size, waiter })
    this.#handBack(outcome.dropped.map((d) => this.#take(d, outcome.reason, 'CLAWSOCK_DROPPED')).filter(Boolean))
    return true
  }

  /** Removes pending message `id` and describes it for #handBack. */
  #take(id, reason, code, extra) {
    const p = this.#pending.get(id)
    if (!p) return null
    this.#pending.delete(id)
    return { data: p.data, reason, waiter: p.waiter, error: sendError(reason, code, extra) }
  }

  /** Rejects the waiters and emits one `dropped` event. */
  #handBack(items) {
    if (items.length === 0) return
    for (const it of items) if (it.waiter) it.waiter.reject(it.error)
    this.dispatchEvent(new DroppedEvent('dropped', { messages: items.map(({ data, reason }) => ({ data, reason })) }))
  }

  /**
   * Stops for good, in any state: closes the open connection (code 1000 or
   * 3000-4999, reason up to 123 bytes), or abandons the connection attempt
   * or the wait before the next one. Queued messages are handed back
   * (`dropped`), then `terminal` (kind 'user-closed') is the last event.
   */
  close(code, reason) {
    ;[code, reason] = checkClose(code, reason, 'ReconnectingWebSocket')
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#native.close(code, reason)
  }

  [kDispatch](batch) {
    forEachInBatch(batch, this.#sink)
  }

  #message(data, ts) {
    if (this.#state !== 'open') return
    this[kMessageListeners].dispatch(data, this.#origin, ts)
  }

  #control(ev) {
    switch (ev.type) {
      case 'open':
        this.#stats.connects++
        if (this.#state !== 'closed') this.#state = 'open'
        this.#protocol = ev.protocol || ''
        this.#extensions = ev.extensions || ''
        this.#conn++
        this.dispatchEvent(new Event('open'))
        if (this.#readyFn) this.#runReady(this.#conn)
        else this.dispatchEvent(new Event('ready'))
        break
      case 'sent':
        // Only the ready step's own messages (sendNow) were written.
        if (!ev.notify) break
        for (const [id, p] of this.#pending) {
          if (id > ev.id) break
          this.#pending.delete(id)
          this.#stats.messagesOut++
          this.#stats.bytesOut += p.bytes
          if (p.waiter) p.waiter.resolve()
        }
        break
      case 'dial':
        if (this.#state === 'closed') break // close() was called: the session stops without dialing
        this.#target()
        break
      case 'error': {
        // A url/headers/protocols function that threw: its own error, as it is.
        const own = ev.kind === 'target' ? this.#targetError : null
        this.#targetError = null
        const error = own || new Error(ev.message)
        if (!own) {
          error.code = 'CLAWSOCK_' + String(ev.kind || 'error').toUpperCase().replace(/-/g, '_')
          if (ev.status != null) error.status = ev.status
          // Whether this failed upgrade stops reconnecting by default.
          error.finalByDefault = ev.finalByDefault
        }
        // The ready step ran out of time (readyTimeout): its answer, if it
        // ever comes, no longer counts.
        if (ev.kind === 'ready-timeout') this.#readyTimedOut = this.#conn
        this.dispatchEvent(new ErrorEvent('error', { message: ev.message, error }))
        if (ev.verdict) this.#native.decide(this.#isFinalHandshakeError(error))
        break
      }
      case 'close': {
        if (this.#state !== 'closed') this.#state = 'reconnecting'
        if (ev.settledThrough != null) {
          // Taken by that connection, neither written nor given back: lost
          // in a failed write.
          const lost = []
          for (const id of this.#pending.keys()) {
            if (id > ev.settledThrough) break
            lost.push(this.#take(id, LOST_IN_WRITE(ev.code), 'CLAWSOCK_DROPPED'))
          }
          this.#handBack(lost)
        }
        this.dispatchEvent(new CloseEvent('close', { code: ev.code, reason: ev.reason, wasClean: ev.wasClean }))
        if (ev.verdict) this.#native.decide(this.#isFinal(ev.code, ev.reason))
        break
      }
      case 'reconnecting':
        this.#stats.reconnects++
        if (this.#state !== 'closed') this.#state = 'reconnecting'
        this.dispatchEvent(new ReconnectingEvent('reconnecting', { attempt: ev.attempt, delay: ev.delay, lastClose: ev.lastClose, fromServer: ev.fromServer, retryAfter: ev.retryAfter }))
        break
      case 'terminal': {
        this.#state = 'closed'
        this.#unwatch()
        const t = { code: ev.code, reason: ev.reason, message: ev.message, kind: ev.kind }
        if (ev.codes) t.codes = Object.freeze([...ev.codes])
        if (ev.status != null) t.status = ev.status
        this.#terminal = Object.freeze(t)
        const extra = { terminal: this.#terminal }
        const back = (ev.unsent || []).map((id) => this.#take(id, t.message, 'CLAWSOCK_TERMINAL', extra)).filter(Boolean)
        // Anything else still pending cannot be written any more.
        for (const id of [...this.#pending.keys()]) back.push(this.#take(id, t.message, 'CLAWSOCK_TERMINAL', extra))
        try {
          this.#handBack(back)
        } finally {
          this.#native.release()
          this.dispatchEvent(new TerminalEvent('terminal', t))
        }
        break
      }
    }
  }

  /** Runs the ready function for connection `conn`, and tells Rust how it went. */
  async #runReady(conn) {
    let failure = null
    try {
      await this.#readyFn(this)
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err))
    }
    // That connection has ended (or close() was called), or the step ran
    // out of time: nothing to say.
    if (conn !== this.#conn || this.#state !== 'open' || conn === this.#readyTimedOut) return
    if (failure) {
      const message = `clawsock: the ready function failed (${failure.message}); this connection is closed with 1011 and the attempt counts as failed`
      this.dispatchEvent(new ErrorEvent('error', { message, error: failure }))
      this.#native.readyFailed(conn, `ready failed: ${failure.message}`)
    } else {
      this.#native.markReady(conn)
      this.dispatchEvent(new Event('ready'))
    }
  }

  /** Calls the url/headers/protocols functions for the next attempt. */
  async #target() {
    try {
      let url = this.#url
      let origin = this.#origin
      if (this.#urlFn) {
        const parsed = parseUrl(await this.#urlFn(), 'ReconnectingWebSocket')
        url = parsed.href
        origin = parsed.origin
      }
      const headers = this.#headersFn ? attemptHeaders('ReconnectingWebSocket', await this.#headersFn(), this.#originOption) : undefined
      const protocols = this.#protocolsFn ? parseProtocols(await this.#protocolsFn(), 'ReconnectingWebSocket') : undefined
      this.#url = url
      this.#origin = origin
      // A fixed URL: the one the constructor gave the native side (its user:password@ sent as Basic auth).
      this.#native.setTarget(this.#urlFn ? url : this.#dialUrl, headers, protocols)
    } catch (err) {
      this.#targetError = err instanceof Error ? err : new Error(String(err))
      this.#native.failTarget(this.#targetError.message)
    }
  }

  #isFinalHandshakeError(error) {
    try {
      return Boolean(this.#isFinalHandshake(error))
    } catch (err) {
      const message = `clawsock: the isFinalHandshakeError function threw (${err && err.message}); the default rule decides instead`
      this.dispatchEvent(new ErrorEvent('error', { message, error: err }))
      return Boolean(error.finalByDefault)
    }
  }

  #isFinal(code, reason) {
    try {
      return Boolean(this.#predicate(code, reason))
    } catch (err) {
      const message = `clawsock: the reconnect.finalCodes function threw (${err && err.message}); the default final codes decide instead`
      this.dispatchEvent(new ErrorEvent('error', { message, error: err }))
      // The Rust list (src/reconnect/policy.rs), asked only here.
      return native.defaultFinalCodes().includes(code)
    }
  }
}

routeMessageListeners(ReconnectingWebSocket.prototype, kMessageListeners)
defineEventHandlers(ReconnectingWebSocket.prototype, ['open', 'ready', 'message', 'error', 'close', 'reconnecting', 'terminal', 'dropped'])

module.exports = {
  ReconnectingWebSocket,
  ReconnectingEvent,
  TerminalEvent,
  DroppedEvent,
  kNative,
}
