'use strict'
// WHATWG event classes, kept apart from the socket logic (like ws's
// lib/event-target.js). Node's global Event/EventTarget are used as bases;
// CloseEvent and ErrorEvent are defined here because Node 20 lacks them.


const { inspect } = require('node:util')

class MessageEvent extends Event {
  #data = null
  #origin = ''
  constructor(type, init) {
    if (arguments.length === 0) super()
    else if (init == null) super(type)
    else {
      super(type, init)
      if (init.data !== undefined) this.#data = init.data
      if (init.origin !== undefined) this.#origin = String(init.origin)
    }
  }
  get data() { return this.#data }
  get origin() { return this.#origin }
  get lastEventId() { return '' }
  get source() { return null }
  get ports() { return [] }
}

/**
 * The MessageEvent a socket dispatches itself (see MessageListeners).
 * Constructing a Node Event costs ~50 ns (option checks, a clock read for
 * timeStamp, internal slots), which is a large part of the per-message
 * budget; this one is a plain object whose prototype chain is
 * MessageEvent.prototype → Event.prototype, so `instanceof MessageEvent`
 * and `instanceof Event` hold, and which implements every Event member
 * itself (Node's own accessors would reject it). Not cancelable, does not
 * bubble, isTrusted false like the MessageEvent it replaces. timeStamp is
 * taken once per batch. It cannot be re-dispatched through another
 * EventTarget's dispatchEvent (Node's would not see stopImmediatePropagation).
 */
// A constructor whose instances inherit from MessageEvent.prototype without
// running Event's constructor.
function EventShell() {}
EventShell.prototype = MessageEvent.prototype

class DispatchedMessageEvent extends EventShell {
  #data
  #origin
  #target
  #timeStamp
  #type = 'message'
  #dispatching = true
  #stop = false
  #stopImmediate = false

  constructor(data, origin, target, timeStamp) {
    super()
    this.#data = data
    this.#origin = origin
    this.#target = target
    this.#timeStamp = timeStamp
  }

  get data() { return this.#data }
  get origin() { return this.#origin }
  get type() { return this.#type }
  get target() { return this.#target }
  get srcElement() { return this.#target }
  get currentTarget() { return this.#dispatching ? this.#target : null }
  get eventPhase() { return this.#dispatching ? Event.AT_TARGET : Event.NONE }
  composedPath() { return this.#dispatching ? [this.#target] : [] }
  get bubbles() { return false }
  get cancelable() { return false }
  get composed() { return false }
  get defaultPrevented() { return false }
  get returnValue() { return true }
  set returnValue(v) {}
  preventDefault() {}
  get cancelBubble() { return this.#stop }
  set cancelBubble(v) { if (v) this.#stop = true }
  stopPropagation() { this.#stop = true }
  stopImmediatePropagation() {
    this.#stop = true
    this.#stopImmediate = true
  }
  get timeStamp() { return this.#timeStamp }
  get isTrusted() { return false }
  initEvent(type) {
    if (arguments.length === 0) throw new TypeError('The "type" argument must be specified')
    if (!this.#dispatching) this.#type = `${type}`
  }
  [inspect.custom](depth, options) {
    if (depth < 0) return 'MessageEvent'
    return `MessageEvent ${inspect({ type: this.#type, defaultPrevented: false, cancelable: false, timeStamp: this.#timeStamp }, { ...options, depth: options.depth == null ? null : options.depth - 1 })}`
  }

  static done(ev) { ev.#dispatching = false }
  static stopped(ev) { return ev.#stopImmediate }
}
Object.defineProperty(DispatchedMessageEvent.prototype, 'constructor', { value: MessageEvent, writable: true, configurable: true })
const endDispatch = DispatchedMessageEvent.done
const isStopped = DispatchedMessageEvent.stopped

function reportError(err) {
  // What Node's EventTarget does with a listener's exception: report it as
  // uncaught on the next tick and go on with the other listeners.
  process.nextTick(() => { throw err })
}

function flattenOptions(options) {
  if (typeof options === 'boolean') return { capture: options, once: false, passive: false, signal: undefined }
  if (options == null) return { capture: false, once: false, passive: false, signal: undefined }
  return { capture: !!options.capture, once: !!options.once, passive: !!options.passive, signal: options.signal }
}

/**
 * The 'message' listeners of one socket, dispatched without Node's
 * EventTarget machinery: in registration order (the onmessage handler
 * where it was first set), `once` and removal during dispatch honoured,
 * handleEvent objects, listener exceptions reported without stopping the
 * others, stopImmediatePropagation, passive. Events that user code passes
 * to `dispatchEvent` still go through Node's EventTarget, which calls one
 * bridge listener that runs this list.
 */
class MessageListeners {
  #target
  #list = [] // replaced, never mutated, so a dispatch iterates a snapshot

  constructor(target) {
    this.#target = target
    EventTarget.prototype.addEventListener.call(target, 'message', (ev) => this.#run(ev))
  }

  get size() { return this.#list.length }

  add(listener, options) {
    const o = flattenOptions(options)
    if (o.signal !== undefined) {
      if (o.signal === null || typeof o.signal !== 'object' || typeof o.signal.aborted !== 'boolean') {
        throw Object.assign(new TypeError('The "options.signal" property must be an instance of AbortSignal.'), { code: 'ERR_INVALID_ARG_TYPE' })
      }
      if (o.signal.aborted) return
    }
    for (const l of this.#list) if (l.listener === listener && l.capture === o.capture) return
    const entry = { listener, capture: o.capture, once: o.once, passive: o.passive, removed: false }
    this.#list = [...this.#list, entry]
    if (o.signal) {
      o.signal.addEventListener('abort', () => this.#drop(entry), { once: true })
    }
  }

  remove(listener, options) {
    const capture = typeof options === 'boolean' ? options : options != null && !!options.capture
    for (const l of this.#list) {
      if (l.listener === listener && l.capture === capture) {
        this.#drop(l)
        return
      }
    }
  }

  #drop(entry) {
    if (entry.removed) return
    entry.removed = true
    this.#list = this.#list.filter((l) => l !== entry)
  }

  /** Dispatches a new MessageEvent (the hot path). `timeStamp`: see DispatchedMessageEvent. */
  dispatch(data, origin, timeStamp) {
    const list = this.#list
    if (list.length === 0) return
    const ev = new DispatchedMessageEvent(data, origin, this.#target, timeStamp)
    for (let i = 0; i < list.length; i++) {
      const l = list[i]
      if (l.removed) continue
      if (l.once) this.#drop(l)
      this.#call(l, ev)
      if (isStopped(ev)) break
    }
    endDispatch(ev)
  }

  // An event passed to dispatchEvent by user code (Node set its target).
  #run(ev) {
    const list = this.#list
    let stopped = false
    let restore = null
    // Node keeps its stop flag private: notice stopImmediatePropagation here.
    const had = Object.getOwnPropertyDescriptor(ev, 'stopImmediatePropagation')
    const stop = ev.stopImmediatePropagation
    try {
      Object.defineProperty(ev, 'stopImmediatePropagation', {
        configurable: true,
        writable: true,
        value() {
          stopped = true
          return Reflect.apply(stop, this, [])
        },
      })
      restore = () => {
        if (had) Object.defineProperty(ev, 'stopImmediatePropagation', had)
        else delete ev.stopImmediatePropagation
      }
    } catch {}
    try {
      for (let i = 0; i < list.length; i++) {
        const l = list[i]
        if (l.removed) continue
        if (l.once) this.#drop(l)
        this.#call(l, ev)
        if (stopped) break
      }
    } finally {
      if (restore) restore()
    }
  }

  #call(l, ev) {
    try {
      let r
      const cb = l.listener
      if (typeof cb === 'function') r = cb.call(this.#target, ev)
      else {
        const h = cb.handleEvent
        if (h) r = Reflect.apply(h, cb, [ev])
      }
      if (r !== undefined && r !== null) {
        const then = r.then
        if (typeof then === 'function') then.call(r, undefined, reportError)
      }
    } catch (err) {
      reportError(err)
    }
  }
}

/**
 * Makes `proto`'s addEventListener/removeEventListener keep 'message'
 * listeners in `this[key]` (a MessageListeners); other types go to Node's
 * EventTarget. Unusual arguments also go there, for Node's own errors and
 * warnings.
 */
function routeMessageListeners(proto, key) {
  const add = EventTarget.prototype.addEventListener
  const remove = EventTarget.prototype.removeEventListener
  Object.defineProperty(proto, 'addEventListener', {
    configurable: true,
    writable: true,
    value: function addEventListener(type, listener, options) {
      const ls = this[key]
      if (arguments.length < 2 || ls === undefined || (typeof listener !== 'function' && (listener === null || typeof listener !== 'object')) ||
        (options !== undefined && options !== null && typeof options !== 'boolean' && typeof options !== 'object') || `${type}` !== 'message') {
        return Reflect.apply(add, this, arguments)
      }
      ls.add(listener, options)
    },
  })
  Object.defineProperty(proto, 'removeEventListener', {
    configurable: true,
    writable: true,
    value: function removeEventListener(type, listener, options) {
      const ls = this[key]
      if (arguments.length < 2 || ls === undefined || (typeof listener !== 'function' && (listener === null || typeof listener !== 'object')) || `${type}` !== 'message') {
        return Reflect.apply(remove, this, arguments)
      }
      ls.remove(listener, options)
    },
  })
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

/**
 * Adds `on<type>` event handler attributes to a class, as HTML defines them
 * (EventHandler, [LegacyTreatNonObjectAsNull]): the listener is added when a
 * handler is first set and keeps its place in the listener order when the
 * handler is replaced; a non-object (null, a string...) removes it. Any
 * object is kept (the getter returns it) but only a function is called: an
 * object's `handleEvent` is never looked up, unlike addEventListener's
 * (WPT html/webappapis/scripting/events/event-handler-handleEvent-ignored).
 * `isInstance(value)`, when given, is the brand check: the accessors throw
 * a TypeError on any other `this`, as WebIDL attributes do.
 */
function defineEventHandlers(proto, types, isInstance) {
  for (const type of types) {
    const name = `on${type}`
    const slot = Symbol(name)
    const check = (self) => {
      if (isInstance && !isInstance(self)) throw new TypeError(`Illegal invocation: '${name}' read or set on an object that is not a ${proto.constructor.name}`)
    }
    // Object-literal accessors, so that they are named 'get onopen' and 'set onopen'.
    const { get, set } = Object.getOwnPropertyDescriptor({
      get [name]() {
        check(this)
        return this[slot] ? this[slot].handler : null
      },
      set [name](handler) {
        check(this)
        const current = this[slot]
        if (typeof handler === 'function' || (typeof handler === 'object' && handler !== null)) {
          if (current) {
            current.handler = handler
            return
          }
          const entry = { handler, listener: null }
          const target = this
          entry.listener = (event) => {
            const h = entry.handler
            if (typeof h === 'function') return h.call(target, event)
          }
          this[slot] = entry
          this.addEventListener(type, entry.listener)
        } else if (current) {
          this.removeEventListener(type, current.listener)
          this[slot] = undefined
        }
      },
    }, name)
    Object.defineProperty(proto, name, { configurable: true, enumerable: true, get, set })
  }
}

/**
 * Gives a class the WebIDL shape of an interface: `members` (attributes and
 * operations, which class syntax makes non-enumerable) enumerable on the
 * prototype, and a Symbol.toStringTag of `tag` ('[object WebSocket]').
 */
function webIdlShape(cls, tag, members) {
  for (const m of members) Object.defineProperty(cls.prototype, m, { enumerable: true })
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: tag, configurable: true })
}

webIdlShape(MessageEvent, 'MessageEvent', ['data', 'origin', 'lastEventId', 'source', 'ports'])
webIdlShape(CloseEvent, 'CloseEvent', ['wasClean', 'code', 'reason'])
webIdlShape(ErrorEvent, 'ErrorEvent', ['message', 'filename', 'lineno', 'colno', 'error'])

module.exports = { MessageEvent, CloseEvent, ErrorEvent, defineEventHandlers, MessageListeners, routeMessageListeners, webIdlShape, reportError }
// Read lazily: touching globalThis.MessageEvent loads all of Node's bundled undici.
Object.defineProperty(module.exports, 'BaseMessageEvent', { enumerable: true, get: () => globalThis.MessageEvent })
