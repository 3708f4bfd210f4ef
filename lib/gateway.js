'use strict'
// The OpenClaw gateway client. Rust owns the connection lifecycle (the
// session driver, src/session/) and the protocol (src/gateway/protocol.rs):
// the handshake, the request table (ids, held requests, the two-stage
// `accepted` rule, timeouts, rejection on close or pause), seq tracking, the
// tick watchdog and reconnects; lib/options.js checks the options. This file
// is thin: it keeps one promise per request id, turns the native events (one
// array per wake-up; payloads arrive as JSON text and are parsed here once)
// into events, and keeps per-method timing stats.

const util = require('node:util')
const { NativeGatewayClient, DeviceIdentity } = require('../native.js')
const { gatewayOptions } = require('./options.js')
const { onAbort } = require('./abort.js')
const { reportError } = require('./events.js')

const STATS_SAMPLES = 1024
/** `#emit`'s marker for "no second argument". */
const ONE_ARGUMENT = Symbol('one argument')

// ------------------------------------------------------------ DeviceIdentity

// Never show key material: inspect and JSON give the id and public key only.
Object.defineProperty(DeviceIdentity.prototype, util.inspect.custom, {
  value() {
    return `DeviceIdentity { deviceId: '${this.deviceId}', publicKey: '${this.publicKey}' }`
  },
})
Object.defineProperty(DeviceIdentity.prototype, 'toJSON', {
  value() {
    return { deviceId: this.deviceId, publicKey: this.publicKey }
  },
})

// -------------------------------------------------------------- GatewayError

/** A failed gateway request or connect: the server's ErrorShape, or a local failure. */
class GatewayError extends Error {
  constructor(message, fields = {}) {
    super(message)
    this.name = 'GatewayError'
    /** Server code (INVALID_REQUEST, FORBIDDEN, UNAVAILABLE, …) or local (TIMEOUT, CLOSED, PAYLOAD_TOO_LARGE, CONNECT_PAUSED, STOPPED, ABORTED). */
    this.code = fields.code || 'UNAVAILABLE'
    /** Server details, e.g. {code: 'MISSING_SCOPE', missingScope}. */
    this.details = fields.details == null ? undefined : fields.details
    this.retryable = Boolean(fields.retryable)
    this.retryAfterMs = fields.retryAfterMs == null ? undefined : fields.retryAfterMs
    this.method = fields.method == null ? undefined : fields.method
  }

  /** `details.code` (e.g. AUTH_TOKEN_MISMATCH), when present. */
  get detailCode() {
    return this.details && typeof this.details.code === 'string' ? this.details.code : undefined
  }
}

function fromShape(shape, method) {
  const s = shape || {}
  return new GatewayError(s.message || s.code || 'gateway error', { ...s, method: s.method || method })
}

// --------------------------------------------------------------------- stats

class MethodStats {
  count = 0
  errors = 0
  total = 0
  max = 0
  samples = []
  next = 0
  add(ms, failed) {
    this.count++
    if (failed) this.errors++
    this.total += ms
    if (ms > this.max) this.max = ms
    if (this.samples.length < STATS_SAMPLES) this.samples.push(ms)
    else {
      this.samples[this.next] = ms
      this.next = (this.next + 1) % STATS_SAMPLES
    }
  }
  snapshot() {
    const s = this.samples.slice().sort((a, b) => a - b)
    const p = (q) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : 0)
    return { count: this.count, errors: this.errors, avgMs: this.count ? this.total / this.count : 0, p50Ms: p(0.5), p90Ms: p(0.9), maxMs: this.max }
  }
}

// -------------------------------------------------------------------- client

function sanitizeHello(payload) {
  const hello = payload && typeof payload === 'object' ? payload : {}
  const auth = hello.auth
  if (auth && typeof auth === 'object') {
    // The device token is stored by the native token store; it never needs to be in JS.
    if ('deviceToken' in auth) {
      delete auth.deviceToken
      auth.deviceTokenIssued = true
    }
    if (Array.isArray(auth.deviceTokens)) auth.deviceTokens = auth.deviceTokens.length
  }
  return hello
}

class GatewayClient {
  #native
  #state = 'connecting'
  #hello = null
  #open = false
  #isFinalHandshake = null
  #urlFn = null
  #tokenFn = null
  #closing = false
  #staticUrl
  #targetError = null
  #stateVersion = null
  #requestTimeoutMs
  #pending = new Map()
  #listeners = new Map()
  #readyWaiters = []
  #closeWaiters = []
  #stats = new Map()
  #paused = null
  #final = null
  #unwatch = null // removes the `signal` listener
  #checkTransport // the plaintext rule, for URLs from a url function

  /**
   * Starts connecting at once. See index.d.ts for the options.
   * @param {object} [options]
   */
  constructor(options) {
    const { native, identity, requestTimeoutMs, isFinal, urlFn, tokenFn, signal, checkTransport } = gatewayOptions(options)
    this.#checkTransport = checkTransport
    this.#requestTimeoutMs = requestTimeoutMs
    this.#isFinalHandshake = isFinal || null
    this.#urlFn = urlFn || null
    this.#tokenFn = tokenFn || null
    this.#staticUrl = native.url
    this.#native = new NativeGatewayClient(native, identity, (batch) => this.#dispatch(batch))
    this.#unwatch = onAbort(signal, () => this.close())
  }

  /** Calls the url/token functions for the next attempt (fresh credentials). */
  async #target() {
    try {
      const u = this.#urlFn ? await this.#urlFn() : this.#staticUrl
      const url = u instanceof URL ? u.href : u
      if (typeof url !== 'string') throw new TypeError(`clawsock: GatewayClient's url function must return a ws:// or wss:// URL, got ${typeof url}`)
      this.#checkTransport(url)
      const token = this.#tokenFn ? await this.#tokenFn() : undefined
      if (token !== undefined && token !== null && typeof token !== 'string') {
        throw new TypeError(`clawsock: GatewayClient's token function must return a string, got ${typeof token}`)
      }
      this.#native.setTarget(url, token ?? undefined)
    } catch (err) {
      this.#targetError = err instanceof Error ? err : new Error(String(err))
      this.#native.failTarget(this.#targetError.message)
    }
  }

  /** 'connecting' | 'handshaking' | 'ready' | 'reconnecting' | 'paused' | 'closed' */
  get state() { return this.#state }
  /** The last hello-ok payload (server, features, snapshot, auth, policy), or null before the first. */
  get hello() { return this.#hello }
  /** The highest {presence, health} seen (hello snapshot and events), or null. */
  get stateVersion() { return this.#stateVersion ? { ...this.#stateVersion } : null }
  /** The current `policy` from hello-ok, or null. */
  get policy() { return this.#hello ? this.#hello.policy || null : null }
  /** Per-method timing: { [method]: {count, errors, avgMs, p50Ms, p90Ms, maxMs} }. */
  get stats() { return this.requestStats() }
  /** Requests made and not yet settled. */
  get pendingRequests() { return this.#pending.size }

  requestStats() {
    const out = {}
    for (const [m, s] of this.#stats) out[m] = s.snapshot()
    return out
  }

  // ---- events

  // Listeners per name are an array replaced on every on/off (copy on
  // write), so an emit walks a snapshot without copying it: a listener added
  // or removed while an event is delivered takes effect from the next one.
  on(name, fn) {
    if (typeof fn !== 'function') throw new TypeError('clawsock: listener must be a function')
    const list = this.#listeners.get(name)
    if (!list) this.#listeners.set(name, [fn])
    else if (!list.includes(fn)) this.#listeners.set(name, [...list, fn])
    return this
  }

  off(name, fn) {
    const list = this.#listeners.get(name)
    if (list) {
      const rest = list.filter((f) => f !== fn && f.listener !== fn)
      if (rest.length === 0) this.#listeners.delete(name)
      else if (rest.length !== list.length) this.#listeners.set(name, rest)
    }
    return this
  }

  once(name, fn) {
    if (typeof fn !== 'function') throw new TypeError('clawsock: listener must be a function')
    const wrapped = (...args) => {
      this.off(name, wrapped)
      fn.apply(this, args)
    }
    wrapped.listener = fn
    return this.on(name, wrapped)
  }

  listenerCount(name) {
    const list = this.#listeners.get(name)
    return list ? list.length : 0
  }

  // Calls each listener with `a`, and `b` when given (listeners get exactly
  // the arguments of their event: no rest array per call).
  #emit(name, a, b = ONE_ARGUMENT) {
    const list = this.#listeners.get(name)
    if (!list) return false
    for (let i = 0; i < list.length; i++) {
      try {
        if (b === ONE_ARGUMENT) list[i].call(this, a)
        else list[i].call(this, a, b)
      } catch (err) {
        reportError(err)
      }
    }
    return true
  }

  // ---- lifecycle

  /** Resolves with hello-ok when ready; rejects if the client pauses or closes first. */
  ready() {
    if (this.#state === 'ready') return Promise.resolve(this.#hello)
    if (this.#state === 'paused') return Promise.reject(this.#paused.error)
    if (this.#state === 'closed') return Promise.reject(this.#closedError())
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }))
  }

  /** Closes cleanly (1000) and stops reconnecting. Resolves once closed; the process can then exit. */
  close() {
    if (this.#state === 'closed') return Promise.resolve()
    this.#closing = true
    const p = new Promise((resolve) => this.#closeWaiters.push(resolve))
    // Hold the loop again until the final 'closed' event (a paused client let go).
    this.#native.setRef(true)
    this.#native.close()
    return p
  }

  /** Connects again after `paused` (e.g. once pairing was approved). */
  resume() {
    if (this.#state !== 'paused') return
    this.#native.setRef(true)
    this.#native.resume()
    // The native side answers with 'state: reconnecting'; say so now so ready() waits.
    this.#setState('reconnecting')
  }

  #closedError() {
    const f = this.#final || {}
    return new GatewayError(f.message || 'gateway client closed', { code: f.kind === 'user-closed' ? 'STOPPED' : 'CLOSED', details: { code: f.code, reason: f.reason, kind: f.kind } })
  }

  // ---- requests

  /**
   * Calls a gateway method.
   * @param {string} method
   * @param {unknown} [params]
   * @param {{timeoutMs?: number|null, signal?: AbortSignal, expectFinal?: boolean, onAccepted?: (payload: any) => void}} [opts]
   */
  request(method, params, opts) {
    const o = opts == null ? {} : opts
    if (typeof method !== 'string' || method === '') {
      return Promise.reject(new TypeError('clawsock: request(method) needs a non-empty method name'))
    }
    let timeoutMs
    if (o.timeoutMs === null) timeoutMs = undefined
    else if (o.timeoutMs === undefined) timeoutMs = o.expectFinal ? undefined : this.#requestTimeoutMs ?? undefined
    else if (typeof o.timeoutMs !== 'number' || !(o.timeoutMs >= 0)) {
      return Promise.reject(new TypeError(`clawsock: request option 'timeoutMs' must be a non-negative number or null, got ${JSON.stringify(o.timeoutMs)}`))
    } else timeoutMs = o.timeoutMs
    const signal = o.signal
    if (signal && signal.aborted) return Promise.reject(abortError(method))
    let paramsJson
    try {
      paramsJson = params === undefined ? undefined : JSON.stringify(params)
    } catch (err) {
      return Promise.reject(err)
    }
    const start = performance.now()
    // Fails at once (stopped, paused, too large) or is held/sent by Rust.
    const r = this.#native.request(method, paramsJson, timeoutMs, Boolean(o.expectFinal))
    if (r.error) {
      this.#record(method, start, true)
      return Promise.reject(fromShape(r.error, method))
    }
    const id = r.id
    return new Promise((resolve, reject) => {
      const entry = { method, start, resolve, reject, onAccepted: o.onAccepted, signal, onAbort: null }
      if (signal) {
        entry.onAbort = () => {
          if (this.#pending.get(id) !== entry) return
          this.#native.cancel(id)
          this.#settle(id, entry, abortError(method), true)
        }
        signal.addEventListener('abort', entry.onAbort, { once: true })
      }
      this.#pending.set(id, entry)
    })
  }

  #record(method, start, failed) {
    let s = this.#stats.get(method)
    if (!s) this.#stats.set(method, (s = new MethodStats()))
    s.add(performance.now() - start, failed)
  }

  #settle(id, entry, errOrValue, failed) {
    this.#pending.delete(id)
    if (entry.signal && entry.onAbort) entry.signal.removeEventListener('abort', entry.onAbort)
    this.#record(entry.method, entry.start, failed)
    if (failed) entry.reject(errOrValue)
    else entry.resolve(errOrValue)
  }

  // ---- native batches

  #dispatch(batch) {
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]
      try {
        // A server event crosses as its frame's JSON text (one JSON.parse is
        // cheaper than building the object field by field natively); the
        // native side has already checked it and tracked its seq.
        if (typeof item === 'string') this.#event(JSON.parse(item))
        else this.#control(item)
      } catch (err) {
        reportError(err)
      }
    }
  }

  #event(frame) {
    const payload = frame.payload
    const e = { event: frame.event, payload, seq: frame.seq, stateVersion: frame.stateVersion }
    this.#emit('event', e)
    this.#emit(frame.event, payload, e)
  }

  #setState(state) {
    const prev = this.#state
    if (prev === state) return
    this.#state = state
    this.#emit('state', state, prev)
    if (state === 'ready') {
      for (const w of this.#readyWaiters.splice(0)) w.resolve(this.#hello)
    }
  }

  #control(ev) {
    switch (ev.type) {
      case 'res': {
        const entry = this.#pending.get(ev.id)
        if (!entry) break
        if (ev.accepted) {
          if (typeof entry.onAccepted === 'function') entry.onAccepted(JSON.parse(ev.payload))
        } else if (ev.ok) {
          this.#settle(ev.id, entry, ev.payload === undefined ? null : JSON.parse(ev.payload), false)
        } else {
          this.#settle(ev.id, entry, fromShape(ev.error === undefined ? undefined : JSON.parse(ev.error), entry.method), true)
        }
        break
      }
      case 'state':
        this.#setState(ev.state)
        break
      case 'hello':
        this.#paused = null
        if (ev.stateVersion) this.#stateVersion = ev.stateVersion
        this.#hello = sanitizeHello(JSON.parse(ev.payload))
        this.#emit('hello', this.#hello)
        break
      case 'reject': {
        const entry = this.#pending.get(ev.id)
        if (entry) this.#settle(ev.id, entry, fromShape(ev.error, entry.method), true)
        break
      }
      case 'seq':
        this.#emit('seq', ev.kind === 'gap' ? { kind: ev.kind, expected: ev.expected, received: ev.received } : { kind: ev.kind, last: ev.last, received: ev.received })
        if (ev.kind === 'gap') this.#emit('gap', { expected: ev.expected, received: ev.received })
        break
      case 'stateVersion':
        this.#stateVersion = { presence: ev.presence, health: ev.health }
        this.#emit('stateVersion', { ...this.#stateVersion })
        break
      case 'open':
        this.#open = true
        break
      case 'close':
        this.#open = false
        break
      case 'disconnected':
        this.#emit('disconnect', { code: ev.code, reason: ev.reason, byServer: ev.byServer, phase: ev.phase })
        break
      case 'reconnecting':
        // `delayMs`: the deprecated name of `delay` (see the README's naming rule).
        this.#emit('reconnecting', { attempt: ev.attempt, delay: ev.delay, delayMs: ev.delay, fromServer: ev.fromServer, retryAfter: ev.retryAfter })
        break
      case 'paused': {
        // Every pending request was rejected just before this (Rust owns
        // them), so nothing is left waiting on a loop that is let go.
        const error = fromShape(ev.error, 'connect')
        error.code = 'CONNECT_PAUSED'
        error.details = { ...(error.details || {}), code: ev.detailCode, nextStep: ev.nextStep, serverCode: ev.error && ev.error.code }
        const info = { code: ev.code, reason: ev.reason, detailCode: ev.detailCode, message: ev.message, nextStep: ev.nextStep, error }
        this.#paused = info
        this.#setState('paused')
        // No socket is open while paused: do not hold the process open.
        this.#native.setRef(false)
        for (const w of this.#readyWaiters.splice(0)) w.reject(error)
        this.#emit('paused', info)
        break
      }
      case 'dial':
        if (this.#closing) break // close() was called: the session stops without dialing
        this.#target()
        break
      case 'error': {
        // A url/token function that threw: its own error, as it is.
        const own = ev.kind === 'target' ? this.#targetError : null
        this.#targetError = null
        const err = own || new Error(ev.message)
        if (!own) {
          // A failure before the socket opened is a dial failure ('dial');
          // `cause` keeps the transport's own classification.
          err.kind = this.#open ? ev.kind : 'dial'
          err.cause = ev.kind
          if (ev.status != null) err.status = ev.status
          err.finalByDefault = ev.finalByDefault
        }
        this.#emit('error', err)
        if (ev.verdict) {
          let isFinal
          try {
            isFinal = Boolean(this.#isFinalHandshake(err))
          } catch (thrown) {
            isFinal = Boolean(ev.finalByDefault)
            this.#emit('error', Object.assign(new Error(`clawsock: the isFinalHandshakeError function threw (${thrown && thrown.message}); the default rule decides instead`), { kind: 'option', cause: thrown }))
          }
          this.#native.decide(isFinal)
        }
        break
      }
      case 'terminal': {
        this.#unwatch()
        this.#final = { code: ev.code, reason: ev.reason, message: ev.message, kind: ev.kind }
        if (ev.status != null) this.#final.status = ev.status
        this.#setState('closed')
        const err = this.#closedError()
        for (const [id, entry] of this.#pending) this.#settle(id, entry, err, true)
        for (const w of this.#readyWaiters.splice(0)) w.reject(err)
        try {
          this.#native.release()
        } finally {
          for (const resolve of this.#closeWaiters.splice(0)) resolve()
          this.#emit('close', { ...this.#final })
        }
        break
      }
    }
  }
}

function abortError(method) {
  const err = new GatewayError(`gateway request aborted for ${method}`, { code: 'ABORTED', method })
  err.name = 'AbortError'
  return err
}

module.exports = { GatewayClient, GatewayError, DeviceIdentity }
