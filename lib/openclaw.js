'use strict'
// clawsock/openclaw: runs a clawsock client as an OpenClaw channel account.
//
// OpenClaw starts a channel's connection in `plugin.gateway.startAccount(ctx)`
// and keeps the returned promise until `ctx.abortSignal` aborts. `ctx` brings
// a ChannelLogSink (`log`: info, warn, error, optional debug; one string each)
// and `setStatus(ChannelAccountSnapshot)` (with `getStatus()`). runChannel()
// ties a WebSocket, ReconnectingWebSocket or GatewayClient to that context:
//
// - every change of the client's state updates the snapshot's `running`,
//   `connected`, `reconnectAttempts`, `lastConnectedAt`, `lastDisconnect
//   {at, status, error}`, `lastError`, `lifecycle` (starting | ready |
//   recovering | blocked | stopped), `stateReason` and `terminalDisconnect`
//   at once; inbound and outbound traffic updates `lastInboundAt`,
//   `lastOutboundAt` and `lastTransportActivityAt` at most once per
//   `activityInterval` ms;
// - a stop that reconnecting cannot fix (a final close such as 4001
//   "Replaced", flapping, retries used up, a rejected handshake, a paused
//   gateway client) sets `lifecycle: 'blocked'` with the plain-English
//   message as `lastError`. The promise keeps waiting for the abort: resolving
//   it would let the host restart the account, which is the kick war the
//   final code stopped;
// - the abort closes the client and resolves the promise once it has closed
//   (`lifecycle: 'stopped'`);
// - the client's events are logged to the sink, redacted: URL credentials,
//   token/password/key query parameters, Bearer/Basic values and the
//   strings in `options.secrets` never reach a log line or the snapshot.

const { WebSocket } = require('./websocket.js')
const { ReconnectingWebSocket } = require('./reconnecting.js')
const { GatewayClient } = require('./gateway.js')

const DEFAULT_ACTIVITY_INTERVAL = 1000
const SECRET_PARAM = /((?:^|[?&#;,\s])[\w.-]*(?:token|secret|password|passwd|pwd|key|auth|ticket|signature)=)[^&#\s"',;]*/gi
const AUTH_VALUE = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+/gi
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s"']+@/gi

/** `text` with credentials removed (see the module comment). */
function redact(text, secrets = []) {
  let s = String(text)
  for (const secret of secrets) {
    if (typeof secret === 'string' && secret.length >= 4) s = s.split(secret).join('***')
  }
  return s.replace(URL_USERINFO, '$1***@').replace(SECRET_PARAM, '$1***').replace(AUTH_VALUE, '$1 ***')
}

function checkInputs(ctx, client, options) {
  const fail = (what) => new TypeError(`clawsock: runChannel(ctx, client): ${what}`)
  if (ctx === null || typeof ctx !== 'object') throw fail(`ctx must be the channel context of startAccount(ctx) (or an object with abortSignal, log and setStatus), got ${typeof ctx}`)
  const signal = ctx.abortSignal
  if (!signal || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
    throw fail('ctx.abortSignal must be an AbortSignal: the account runs until it aborts')
  }
  if (typeof ctx.setStatus !== 'function') throw fail('ctx.setStatus must be a function (snapshot) => void')
  if (ctx.getStatus !== undefined && typeof ctx.getStatus !== 'function') throw fail('ctx.getStatus must be a function when given')
  const log = ctx.log
  if (log !== undefined && (log === null || ['info', 'warn', 'error'].some((k) => typeof log[k] !== 'function'))) {
    throw fail('ctx.log must be a ChannelLogSink (info, warn and error functions; debug optional)')
  }
  if (!(client instanceof WebSocket || client instanceof ReconnectingWebSocket || client instanceof GatewayClient)) {
    throw fail('client must be a clawsock WebSocket, ReconnectingWebSocket or GatewayClient')
  }
  const o = options == null ? {} : options
  const known = ['secrets', 'activityInterval', 'name']
  for (const k of Object.keys(o)) if (!known.includes(k)) throw fail(`unknown option '${k}'; known: ${known.join(', ')}`)
  if (o.secrets !== undefined && (!Array.isArray(o.secrets) || o.secrets.some((s) => typeof s !== 'string'))) {
    throw fail('options.secrets must be an array of strings (values to keep out of logs)')
  }
  if (o.activityInterval !== undefined && !(typeof o.activityInterval === 'number' && o.activityInterval >= 0)) {
    throw fail(`options.activityInterval must be a number of milliseconds >= 0, got ${o.activityInterval}`)
  }
  if (o.name !== undefined && typeof o.name !== 'string') throw fail('options.name must be a string')
  return o
}

/**
 * Runs `client` as the channel account of `ctx` until `ctx.abortSignal`
 * aborts; see the module comment. Resolves once the client has closed.
 * @param {import('../openclaw').ChannelContext} ctx
 * @param {WebSocket | ReconnectingWebSocket | GatewayClient} client
 * @param {import('../openclaw').RunChannelOptions} [options]
 * @returns {Promise<void>}
 */
function runChannel(ctx, client, options) {
  const o = checkInputs(ctx, client, options)
  const secrets = o.secrets || []
  const interval = o.activityInterval ?? DEFAULT_ACTIVITY_INTERVAL
  const name = o.name || 'clawsock'
  const sink = ctx.log
  const signal = ctx.abortSignal
  const say = (level, msg) => {
    if (!sink) return
    const line = `${name}: ${redact(msg, secrets)}`
    if (level === 'debug') sink.debug?.(line)
    else sink[level](line)
  }

  const base = typeof ctx.getStatus === 'function' ? ctx.getStatus() || {} : {}
  let snap = { ...base, accountId: base.accountId ?? ctx.accountId ?? 'default' }
  const publish = (patch) => {
    snap = { ...snap, ...patch }
    ctx.setStatus({ ...snap })
  }

  // Traffic timestamps: recorded always, published at most once per interval.
  let activity = null
  let activityTimer = null
  let lastActivityPublish = -Infinity
  const traffic = (field) => {
    const now = Date.now()
    activity = { ...activity, [field]: now, lastTransportActivityAt: now }
    if (now - lastActivityPublish >= interval) flushActivity()
    else if (!activityTimer) {
      activityTimer = setTimeout(flushActivity, interval - (now - lastActivityPublish))
      activityTimer.unref?.()
    }
  }
  function flushActivity() {
    if (activityTimer) clearTimeout(activityTimer)
    activityTimer = null
    if (!activity) return
    lastActivityPublish = Date.now()
    const patch = activity
    activity = null
    publish(patch)
  }
  // A state change carries the traffic recorded so far.
  const change = (patch) => {
    if (activity) {
      patch = { ...activity, ...patch }
      activity = null
    }
    publish(patch)
  }

  let aborted = false
  let closed = false
  let done
  const finished = new Promise((resolve) => (done = resolve))

  const connected = () => {
    say('info', 'connected')
    change({ connected: true, lastConnectedAt: Date.now(), reconnectAttempts: 0, lifecycle: 'ready', lastError: null, stateReason: undefined, terminalDisconnect: undefined })
  }
  const disconnected = (code, reason) => {
    const text = redact(reason || '', secrets)
    say(aborted || code === 1000 ? 'info' : 'warn', `disconnected (code ${code}${text ? `, ${text}` : ''})`)
    const patch = { connected: false, lastDisconnect: { at: Date.now(), status: code, ...(text ? { error: text } : {}) } }
    // A reconnecting client is recovering from now on (a terminal stop follows if it is not).
    if (!aborted && !(client instanceof WebSocket)) patch.lifecycle = 'recovering'
    change(patch)
  }
  const reconnecting = (attempt, delay) => {
    say('info', `reconnecting in ${Math.round(delay)} ms (attempt ${attempt})`)
    change({ connected: false, reconnectAttempts: attempt, lifecycle: 'recovering' })
  }
  const failed = (message) => {
    const text = redact(message, secrets)
    say(aborted ? 'debug' : 'warn', text)
    change({ lastError: text })
  }
  /**
   * The client's last event. `stop`: it stopped on purpose (the abort,
   * close(), or a plain WebSocket's end): 'stopped', and the promise
   * resolves. Otherwise it is 'blocked' until the abort.
   */
  const ended = (stop, message, kind) => {
    if (closed) return
    closed = true
    flushActivity()
    if (stop || aborted) {
      signal.removeEventListener('abort', onAbort)
      say('info', 'stopped')
      change({ running: false, connected: false, lifecycle: 'stopped', lastStopAt: Date.now() })
      done()
    } else {
      const text = redact(message, secrets)
      say('error', `blocked: ${text}`)
      change({ running: false, connected: false, lifecycle: 'blocked', lastError: text, stateReason: kind, terminalDisconnect: true })
    }
  }
  const blockedUntilResumed = (message, kind) => {
    const text = redact(message, secrets)
    say('error', `blocked: ${text}`)
    change({ connected: false, lifecycle: 'blocked', lastError: text, stateReason: kind })
  }

  const onAbort = () => {
    aborted = true
    if (closed) {
      // Blocked until now: the host stopped the account.
      change({ lifecycle: 'stopped', lastStopAt: Date.now() })
      return done()
    }
    say('info', 'stopping (aborted)')
    client.close()
  }

  publish({ running: true, connected: false, lifecycle: 'starting', lastStartAt: Date.now(), reconnectAttempts: 0, lastError: null })
  wrapSends(client, () => traffic('lastOutboundAt'))
  const inbound = () => traffic('lastInboundAt')

  if (client instanceof GatewayClient) {
    client.on('hello', connected)
    client.on('event', inbound)
    client.on('disconnect', (d) => disconnected(d.code, d.reason))
    client.on('reconnecting', (r) => reconnecting(r.attempt, r.delay))
    client.on('error', (err) => failed(err.message))
    client.on('paused', (p) => blockedUntilResumed(p.message, 'paused'))
    client.on('state', (state) => state === 'reconnecting' && snap.lifecycle === 'blocked' && change({ lifecycle: 'recovering' }))
    client.on('close', (f) => ended(f.kind === 'user-closed', f.message, f.kind))
  } else {
    const gated = client instanceof ReconnectingWebSocket
    client.addEventListener(gated ? 'ready' : 'open', connected)
    client.addEventListener('message', inbound)
    client.addEventListener('error', (e) => failed(e.message))
    client.addEventListener('close', (e) => disconnected(e.code, e.reason))
    if (gated) {
      client.addEventListener('reconnecting', (e) => reconnecting(e.attempt, e.delay))
      client.addEventListener('terminal', (e) => ended(e.kind === 'user-closed', e.message, e.kind))
    } else {
      // A plain WebSocket does not reconnect: its close is its end, and the
      // promise resolves (the host decides whether to start it again).
      client.addEventListener('close', () => ended(true))
    }
  }

  if (signal.aborted) onAbort()
  else signal.addEventListener('abort', onAbort, { once: true })
  say('debug', `started (${client.constructor.name})`)
  return finished
}

// What runChannel writes, which OpenClaw's default status projection (its
// "safe fields") partly drops (lastError, lastDisconnect, stateReason, ...).
const STATUS_FIELDS = ['accountId', 'enabled', 'configured', 'running', 'connected', 'reconnectAttempts', 'lastConnectedAt',
  'lastDisconnect', 'lastError', 'lastInboundAt', 'lastOutboundAt', 'lastTransportActivityAt', 'lastStartAt', 'lastStopAt',
  'stateReason', 'terminalDisconnect', 'lifecycle', 'restartPending']

/**
 * The account snapshot for `plugin.status.buildAccountSnapshot({ runtime })`:
 * the fields runChannel keeps, taken from OpenClaw's runtime record, so that
 * `openclaw channels status` shows lastError and lastDisconnect too.
 */
function accountSnapshot(runtime, accountId = 'default') {
  const r = runtime && typeof runtime === 'object' ? runtime : {}
  const out = { accountId: r.accountId ?? accountId }
  for (const k of STATUS_FIELDS) if (r[k] !== undefined) out[k] = r[k]
  return out
}

/** Records outbound traffic on the client's own send methods. */
function wrapSends(client, note) {
  const methods = client instanceof GatewayClient ? ['request'] : ['send', 'sendAsync', 'sendNow']
  for (const m of methods) {
    const original = client[m]
    if (typeof original !== 'function') continue
    Object.defineProperty(client, m, {
      configurable: true,
      writable: true,
      value: function (...args) {
        note()
        return original.apply(this, args)
      },
    })
  }
}

module.exports = { runChannel, redact, accountSnapshot }
