'use strict'
// ws's DOM-style compatibility for `clawsock/ws` (ws has the same in its
// lib/event-target.js): addEventListener / removeEventListener and the
// onopen / onmessage / onerror / onclose attributes, on top of the
// EventEmitter events. A listener gets an event object whose `target` is
// the socket: Event('open'), MessageEvent (`data`: a string for text, as
// ws), CloseEvent (`code`, `reason` string, `wasClean`), ErrorEvent
// (`error`, `message`).

const kListener = Symbol('listener')
const kAttribute = Symbol('forOnEventAttribute')

class WsEvent {
  #type
  #target = null
  constructor(type) { this.#type = type }
  get type() { return this.#type }
  get target() { return this.#target }
  static withTarget(event, target) { event.#target = target; return event }
}

class WsMessageEvent extends WsEvent {
  #data
  constructor(type, { data = null } = {}) { super(type); this.#data = data }
  get data() { return this.#data }
}

class WsCloseEvent extends WsEvent {
  #code
  #reason
  #wasClean
  constructor(type, { code = 0, reason = '', wasClean = false } = {}) {
    super(type)
    this.#code = code
    this.#reason = reason
    this.#wasClean = wasClean
  }
  get code() { return this.#code }
  get reason() { return this.#reason }
  get wasClean() { return this.#wasClean }
}

class WsErrorEvent extends WsEvent {
  #error
  #message
  constructor(type, { error = null, message = '' } = {}) {
    super(type)
    this.#error = error
    this.#message = message
  }
  get error() { return this.#error }
  get message() { return this.#message }
}

/** The event object for one emitted event (`this` is the socket). */
const MAKE = {
  open: () => new WsEvent('open'),
  message: (data, isBinary) => new WsMessageEvent('message', { data: isBinary ? data : data.toString() }),
  close(code, reason) {
    return new WsCloseEvent('close', { code, reason: reason.toString(), wasClean: this.wasClean })
  },
  error: (error) => new WsErrorEvent('error', { error, message: error.message }),
}

function call(listener, target, event) {
  if (typeof listener === 'object' && listener !== null && typeof listener.handleEvent === 'function') {
    listener.handleEvent(event)
  } else {
    listener.call(target, event)
  }
}

const methods = {
  addEventListener(type, handler, options = {}) {
    const make = Object.prototype.hasOwnProperty.call(MAKE, type) ? MAKE[type] : null
    if (make === null) {
      throw new TypeError(`clawsock/ws: addEventListener('${type}') is not supported: only open, message, error and close have DOM events (as in ws); use ws.on('${type}', fn)`)
    }
    if (typeof handler !== 'function' && (typeof handler !== 'object' || handler === null)) return
    for (const l of this.listeners(type)) {
      if (!options[kAttribute] && l[kListener] === handler && !l[kAttribute]) return
    }
    const wrapper = function (...args) {
      call(handler, this, WsEvent.withTarget(make.apply(this, args), this))
    }
    wrapper[kListener] = handler
    wrapper[kAttribute] = !!options[kAttribute]
    if (options.once) this.once(type, wrapper)
    else this.on(type, wrapper)
  },

  removeEventListener(type, handler) {
    for (const l of this.listeners(type)) {
      if (l[kListener] === handler && !l[kAttribute]) {
        this.removeListener(type, l)
        return
      }
    }
  },
}

/** Adds addEventListener, removeEventListener and on{open,message,error,close} to `proto`. */
function defineEventTarget(proto) {
  Object.assign(proto, methods)
  for (const type of Object.keys(MAKE)) {
    Object.defineProperty(proto, `on${type}`, {
      enumerable: true,
      configurable: true,
      get() {
        for (const l of this.listeners(type)) if (l[kAttribute]) return l[kListener]
        return null
      },
      set(handler) {
        for (const l of this.listeners(type)) {
          if (l[kAttribute]) {
            this.removeListener(type, l)
            break
          }
        }
        if (typeof handler === 'function') this.addEventListener(type, handler, { [kAttribute]: true })
      },
    })
  }
}

module.exports = {
  defineEventTarget,
  Event: WsEvent,
  MessageEvent: WsMessageEvent,
  CloseEvent: WsCloseEvent,
  ErrorEvent: WsErrorEvent,
}
