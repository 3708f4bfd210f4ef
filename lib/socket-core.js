'use strict'
// The core both socket classes sit on: the WHATWG `WebSocket`
// (lib/websocket.js) and ws's client contract (lib/ws.js) are two thin
// faces over this one native session. It owns the NativeWebSocket, walks
// each native batch (one array per wake-up), keeps the send accounting
// (bytes written for bufferedAmount, callbacks waiting for a write), turns
// native failures into Errors with a CLAWSOCK_ code, and gives every socket
// its close exactly once: a socket that never opened gets it from the
// session's final `terminal` event.
//
// The face gets, in order: open(owner, ev), message(owner, data, ts) (string
// or Buffer), error(owner, err, ev), close(owner, code, reason, wasClean),
// and, when it asked for control frames, ping(owner, data) and
// pong(owner, data). One face serves every socket of a class (no closures
// per socket: thousands of idle sockets would pay for them).

const { NativeWebSocket } = require('../native.js')
const { forEachInBatch } = require('./data.js')

/** An Error for a native failure: `code` CLAWSOCK_<KIND>, `status` for an HTTP refusal. */
function nativeError(message, kind, status) {
  const error = new Error(message)
  error.code = 'CLAWSOCK_' + String(kind || 'error').toUpperCase().replace(/-/g, '_')
  if (status != null) error.status = status
  return error
}

const BEFORE_OPEN = 'WebSocket was closed before the connection was established'

class SocketCore {
  #native
  #owner
  #face
  #written = 0
  #closedBuffered = 0
  #waiting = null // [{ id, done(err) }] in id order, made on first use
  #closed = false

  /**
   * @param {string} url checked URL
   * @param {object} native NativeConnectOptions (lib/options.js)
   * @param {object} owner the socket the face's callbacks get as first argument
   * @param {object} face the callbacks (open, message, error, close, and ping
   *   and pong with controlFrames), shared by all sockets of a class: each
   *   gets `owner` first, so a socket costs no closures of its own
   * @param {{ joinTextRuns?: boolean, controlFrames?: boolean }} [opts]
   */
  constructor(url, native, owner, face, { joinTextRuns = false, controlFrames = false } = {}) {
    this.#owner = owner
    this.#face = face
    // The core is its own batch sink (message, control): no per-socket
    // sink object and closures, which thousands of idle sockets would pay.
    this.#native = new NativeWebSocket(url, native, (batch) => forEachInBatch(batch, this))
    // Both must be set before returning to the event loop (no batch yet).
    if (joinTextRuns) this.#native.joinTextRuns()
    if (controlFrames) this.#native.reportControlFrames()
  }

  get native() { return this.#native }

  /** Bytes accepted and not yet written, plus what was "sent" after the close. */
  get bufferedAmount() {
    return this.#native.acceptedBytes - this.#written + this.#closedBuffered
  }

  /** Counts data sent after the close (the spec's bufferedAmount rule; ws does the same). */
  discard(bytes) {
    this.#closedBuffered += bytes
  }

  /**
   * Sends a string or bytes. `done(err)`, if given, runs once the message is
   * written (err null) or lost. Returns false if the socket is closing.
   * Throws while connecting.
   */
  send(data, done) {
    const notify = typeof done === 'function'
    const id = typeof data === 'string' ? this.#native.sendText(data, notify) : this.#native.sendBinary(data, notify)
    if (id < 0) return false
    if (notify) (this.#waiting ??= []).push({ id, done })
    return true
  }

  /** A ping, or with `pong` an unsolicited pong; false if closing. Throws while connecting. */
  sendControl(pong, bytes) {
    return this.#native.sendControl(pong, bytes)
  }

  /** Batch sink (forEachInBatch): a message. */
  message(data, ts) {
    this.#face.message(this.#owner, data, ts)
  }

  /** Batch sink (forEachInBatch): an event of the session. */
  control(ev) {
    this.#control(ev)
  }

  close(code, reason) { this.#native.close(code, reason) }
  terminate() { this.#native.terminate() }
  pauseReading(on) { this.#native.pauseReading(on) }

  #control(ev) {
    switch (ev.type) {
      case 'open':
        this.#face.open(this.#owner, ev)
        break
      case 'sent':
        this.#written += ev.bytes
        while (this.#waiting?.length && this.#waiting[0].id <= ev.id) this.#waiting.shift().done(null)
        break
      case 'ping':
      case 'pong':
        this.#face[ev.type](this.#owner, ev.data)
        break
      case 'error':
        this.#face.error(this.#owner, nativeError(ev.message, ev.kind, ev.status), ev)
        break
      case 'close':
        this.#close(ev.code, ev.reason, ev.wasClean)
        break
      case 'terminal':
        // The session's last event. A socket that never opened gets its
        // close here: 1006 after a failed attempt, or after close() while
        // connecting (which fails the connection, as the spec says).
        try {
          if (!this.#closed) {
            if (ev.kind === 'user-closed') {
              this.#face.error(this.#owner, nativeError(BEFORE_OPEN, 'aborted', null), { type: 'error', message: BEFORE_OPEN, kind: 'aborted' })
              this.#close(1006, BEFORE_OPEN, false)
            } else {
              this.#close(ev.code, ev.reason, false)
            }
          }
        } finally {
          this.#native.release()
        }
        break
    }
  }

  #close(code, reason, wasClean) {
    this.#closed = true
    for (const w of this.#waiting?.splice(0) ?? []) {
      const err = new Error(`WebSocket closed (${code}${reason ? ` ${reason}` : ''}) before the message was written`)
      err.code = code
      w.done(err)
    }
    this.#face.close(this.#owner, code, reason, wasClean)
  }
}

module.exports = { SocketCore, nativeError }
