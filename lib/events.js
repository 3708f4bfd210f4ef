'use strict'
// WHATWG event classes, kept apart from the socket logic (like ws's
// lib/event-target.js). Node's global Event/EventTarget are used as bases;
// CloseEvent and ErrorEvent are defined here because Node 20 lacks them.


class MessageEvent extends Event {
  #data
  #origin
  constructor(type, init = {}) {
    super(type, init)
    this.#data = init.data === undefined ? null : init.data
    this.#origin = init.origin === undefined ? '' : String(init.origin)
  }
  get data() { return this.#data }
  get origin() { return this.#origin }
  get lastEventId() { return '' }
  get source() { return null }
  get ports() { return [] }
}

class CloseEvent extends Event {
  #code
  #reason
  #wasClean
  constructor(type, init = {}) {
    super(type, init)
    this.#code = init.code === undefined ? 0 : Number(init.code)
    this.#reason = init.reason === undefined ? '' : String(init.reason)
    this.#wasClean = Boolean(init.wasClean)
  }
  get code() { return this.#code }
  get reason() { return this.#reason }
  get wasClean() { return this.#wasClean }
}

class ErrorEvent extends Event {
  #message
  #error
  constructor(type, init = {}) {
    super(type, init)
    this.#message = init.message === undefined ? '' : String(init.message)
    this.#error = init.error
  }
  get message() { return this.#message }
  get error() { return this.#error }
  get filename() { return '' }
  get lineno() { return 0 }
  get colno() { return 0 }
}

/** Adds `on<type>` handler attributes to a class, WHATWG style. */
function defineEventHandlers(proto, types) {
  for (const type of types) {
    const slot = Symbol(`on${type}`)
    Object.defineProperty(proto, `on${type}`, {
      configurable: true,
      enumerable: true,
      get() { return this[slot] ? this[slot].handler : null },
      set(handler) {
        if (this[slot]) {
          this.removeEventListener(type, this[slot].listener)
          this[slot] = undefined
        }
        if (typeof handler === 'function') {
          const listener = (event) => handler.call(this, event)
          this[slot] = { handler, listener }
          this.addEventListener(type, listener)
        }
      },
    })
  }
}

module.exports = { MessageEvent, CloseEvent, ErrorEvent, defineEventHandlers }
// Read lazily: touching globalThis.MessageEvent loads all of Node's bundled undici.
Object.defineProperty(module.exports, 'BaseMessageEvent', { enumerable: true, get: () => globalThis.MessageEvent })
