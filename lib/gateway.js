'use strict'
// The OpenClaw gateway client. The Rust actor (src/gateway/client.rs) owns
// the socket, the handshake, the request table (ids, timeouts, rejection on
// close), seq tracking, the tick watchdog and reconnects. This file is thin:
// it checks options, keeps one promise per request id, turns the native
// batches (raw frames as JSON text, small control objects) into events, and
// keeps per-method timing stats.

const util = require('node:util')
const { NativeGatewayClient, DeviceIdentity } = require('../native.js')
const { networkOptions } = require('./network.js')

const DEFAULT_URL = 'ws://127.0.0.1:18789'
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
const STATS_SAMPLES = 1024

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

// ------------------------------------------------------------------- options

function optionError(name, message) {
  return new TypeError(`clawsock: GatewayClient option '${name}' ${message}`)
}

function str(o, name) {
  const v = o[name]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw optionError(name, `must be a string, got ${typeof v}`)
  return v
}

function strList(o, name) {
  const v = o[name]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw optionError(name, 'must be an array of strings')
  return v.slice()
}

function msOpt(o, name, { allowNull = false } = {}) {
  const v = o[name]
  if (v === undefined) return undefined
  if (v === null && allowNull) return null
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw optionError(name, `must be a non-negative number of milliseconds${allowNull ? ' or null' : ''}, got ${JSON.stringify(v)}`)
  }
  return v
}

function toNative(options) {
  const o = options == null ? {} : options
  if (typeof o !== 'object') throw new TypeError(`clawsock: GatewayClient options must be an object, got ${typeof o}`)
  const url = o.url === undefined ? DEFAULT_URL : o.url instanceof URL ? o.url.href : o.url
  if (typeof url !== 'string') throw optionError('url', 'must be a ws:// or wss:// URL string')
  const n = { url }
  for (const k of ['token', 'password', 'bootstrapToken', 'deviceToken', 'clientName', 'mode', 'clientVersion',
    'deviceFamily', 'displayName', 'instanceId', 'role', 'locale', 'userAgent', 'tokenStorePath']) {
    n[k] = str(o, k)
  }
  n.platform = str(o, 'platform') ?? process.platform
  n.scopes = strList(o, 'scopes')
  n.caps = strList(o, 'caps')
  n.connectChallengeTimeoutMs = msOpt(o, 'connectChallengeTimeoutMs')
  n.connectTimeoutMs = msOpt(o, 'connectTimeoutMs')
  n.handshakeTimeoutMs = msOpt(o, 'handshakeTimeoutMs')
  if (o.maxPayload !== undefined) {
    if (typeof o.maxPayload !== 'number' || !(o.maxPayload > 0)) throw optionError('maxPayload', `must be a positive number of bytes, got ${JSON.stringify(o.maxPayload)}`)
    n.maxPayload = o.maxPayload
  }
  const r = o.reconnect
  if (r === false) n.reconnect = false
  else if (r !== undefined && r !== true) {
    if (typeof r !== 'object' || r === null) throw optionError('reconnect', 'must be a boolean or { initialDelayMs, maxDelayMs, maxRetries, jitter }')
    n.reconnectInitialDelayMs = msOpt(r, 'initialDelayMs')
    n.reconnectMaxDelayMs = msOpt(r, 'maxDelayMs')
    if (r.maxRetries !== undefined && r.maxRetries !== null && r.maxRetries !== Infinity) {
      if (!Number.isInteger(r.maxRetries) || r.maxRetries < 0) throw optionError('reconnect.maxRetries', `must be a non-negative integer, got ${JSON.stringify(r.maxRetries)}`)
      n.reconnectMaxRetries = r.maxRetries
    }
    if (r.jitter !== undefined) {
      if (!['full', 'equal', 'none'].includes(r.jitter)) throw optionError('reconnect.jitter', `must be 'full', 'equal' or 'none', got ${JSON.stringify(r.jitter)}`)
      n.reconnectJitter = r.jitter
    }
  }
  const tls = o.tls
  if (tls !== undefined && tls !== null) {
    if (typeof tls !== 'object') throw optionError('tls', 'must be an object like { ca, rejectUnauthorized, servername }')
    if (tls.ca !== undefined) {
      const list = Array.isArray(tls.ca) ? tls.ca : [tls.ca]
      n.ca = list.map((c, i) => {
        if (typeof c === 'string') return c
        if (c instanceof Uint8Array) return Buffer.from(c).toString('utf8')
        throw optionError(`tls.ca[${i}]`, 'must be a PEM string or Buffer')
      })
    }
    if (tls.rejectUnauthorized !== undefined) n.rejectUnauthorized = Boolean(tls.rejectUnauthorized)
    if (tls.servername !== undefined) n.servername = String(tls.servername)
  }
  n.network = networkOptions(o, optionError)
  for (const k of Object.keys(n)) if (n[k] === undefined) delete n[k]

  let identity = null
  if (o.identity !== undefined && o.identity !== null) {
    if (typeof o.identity === 'string') identity = DeviceIdentity.loadOrCreate(o.identity)
    else if (o.identity instanceof DeviceIdentity) identity = o.identity
    else throw optionError('identity', 'must be a DeviceIdentity or the path of a key file')
  }
  const requestTimeoutMs = o.requestTimeoutMs === undefined ? DEFAULT_REQUEST_TIMEOUT_MS : msOpt(o, 'requestTimeoutMs', { allowNull: true })
  return { native: n, identity, requestTimeoutMs }
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

function rethrowLater(err) {
  process.nextTick(() => {
    throw err
  })
}

class GatewayClient {
  #native
  #state = 'connecting'
  #hello = null
  #helloId = null
  #stateVersion = null
  #requestTimeoutMs
  #pending = new Map()
  #listeners = new Map()
  #readyWaiters = []
  #closeWaiters = []
  #stats = new Map()
  #paused = null
  #final = null

  /**
   * Starts connecting at once. See index.d.ts for the options.
   * @param {object} [options]
   */
  constructor(options) {
    const { native, identity, requestTimeoutMs } = toNative(options)
    this.#requestTimeoutMs = requestTimeoutMs
    this.#native = new NativeGatewayClient(native, identity, (batch) => this.#dispatch(batch))
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

  on(name, fn) {
    if (typeof fn !== 'function') throw new TypeError('clawsock: listener must be a function')
    let set = this.#listeners.get(name)
    if (!set) this.#listeners.set(name, (set = new Set()))
    set.add(fn)
    return this
  }

  off(name, fn) {
    const set = this.#listeners.get(name)
    if (set) {
      set.delete(fn)
      for (const f of set) if (f.listener === fn) set.delete(f)
      if (set.size === 0) this.#listeners.delete(name)
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
    const set = this.#listeners.get(name)
    return set ? set.size : 0
  }

  #emit(name, ...args) {
    const set = this.#listeners.get(name)
    if (!set) return false
    for (const fn of [...set]) {
      try {
        fn.apply(this, args)
      } catch (err) {
        rethrowLater(err)
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
    // Paused: fail now. The native answer would come through a wake-up
    // handle that no longer holds the event loop, so a script awaiting it
    // could end with the promise unsettled.
    if (this.#state === 'paused') return Promise.reject(this.#pausedError(method))
    let paramsJson
    try {
      paramsJson = params === undefined ? undefined : JSON.stringify(params)
    } catch (err) {
      return Promise.reject(err)
    }
    const start = performance.now()
    const r = this.#native.request(method, paramsJson, timeoutMs, Boolean(o.expectFinal))
    if (r.error) {
      this.#record(method, start, true)
      return Promise.reject(fromShape(r.error, method))
    }
    const id = r.id
    return new Promise((resolve, reject) => {
      const entry = { method, start, resolve, reject, expectFinal: Boolean(o.expectFinal), onAccepted: o.onAccepted, signal, onAbort: null }
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

  /** The rejection of a request made (or pending) while paused. */
  #pausedError(method) {
    const p = this.#paused
    return fromShape({ code: 'CONNECT_PAUSED', message: p.message || 'reconnecting is paused', details: p.error.details }, method)
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
        if (typeof item === 'string') this.#frame(item)
        else this.#control(item)
      } catch (err) {
        rethrowLater(err)
      }
    }
  }

  #frame(text) {
    let frame
    try {
      frame = JSON.parse(text)
    } catch {
      return
    }
    if (frame.type === 'res') {
      if (frame.id === this.#helloId) {
        this.#helloId = null
        this.#hello = sanitizeHello(frame.payload)
        this.#emit('hello', this.#hello)
        return
      }
      const entry = this.#pending.get(frame.id)
      if (!entry) return
      if (frame.ok && entry.expectFinal && frame.payload && frame.payload.status === 'accepted') {
        if (typeof entry.onAccepted === 'function') entry.onAccepted(frame.payload)
        return
      }
      if (frame.ok) this.#settle(frame.id, entry, frame.payload === undefined ? null : frame.payload, false)
      else this.#settle(frame.id, entry, fromShape(frame.error, entry.method), true)
    } else if (frame.type === 'event') {
      const ev = { event: frame.event, payload: frame.payload, seq: frame.seq, stateVersion: frame.stateVersion }
      this.#emit('event', ev)
      this.#emit(frame.event, frame.payload, ev)
    }
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
      case 'state':
        this.#setState(ev.state)
        break
      case 'hello':
        this.#helloId = ev.id
        this.#paused = null
        if (ev.stateVersion) this.#stateVersion = ev.stateVersion
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
      case 'disconnected':
        this.#emit('disconnect', { code: ev.code, reason: ev.reason, byServer: ev.byServer, phase: ev.phase })
        break
      case 'reconnecting':
        this.#emit('reconnecting', { attempt: ev.attempt, delayMs: ev.delayMs })
        break
      case 'paused': {
        const error = fromShape(ev.error, 'connect')
        error.code = 'CONNECT_PAUSED'
        error.details = { ...(error.details || {}), code: ev.detailCode, nextStep: ev.nextStep, serverCode: ev.error && ev.error.code }
        const info = { code: ev.code, reason: ev.reason, detailCode: ev.detailCode, message: ev.message, nextStep: ev.nextStep, error }
        this.#paused = info
        // The native 'state: paused' event may come in a later batch: the
        // state is 'paused' from now on, before anyone hears of the pause.
        this.#setState('paused')
        // No socket is open while paused: do not hold the process open.
        // Requests still pending cannot complete; settle them here rather
        // than wait for the native rejections (see request()).
        this.#native.setRef(false)
        for (const [id, entry] of this.#pending) this.#settle(id, entry, this.#pausedError(entry.method), true)
        for (const w of this.#readyWaiters.splice(0)) w.reject(error)
        this.#emit('paused', info)
        break
      }
      case 'error': {
        const err = new Error(ev.message)
        err.kind = ev.kind
        this.#emit('error', err)
        break
      }
      case 'closed': {
        this.#final = { code: ev.code, reason: ev.reason, message: ev.message, kind: ev.kind }
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
