'use strict'
// What WebSocket and ReconnectingWebSocket share: the WHATWG argument checks,
// the conversion of outgoing data, and the walk over a native batch (one
// array per wake-up; see src/bindings/batch.rs for its layout).

const { reportError } = require('./events.js')

function syntaxError(message) {
  return new DOMException(message, 'SyntaxError')
}

/**
 * The base for relative URLs: `globalThis.location` when one is set (a
 * browser-like environment or a test harness), as the WHATWG constructor
 * resolves against the document's base URL; otherwise none.
 */
function baseUrl() {
  const loc = globalThis.location
  if (loc === null || loc === undefined) return undefined
  const href = typeof loc === 'string' ? loc : loc.href
  return typeof href === 'string' ? href : undefined
}

/** `url` for an error message, with any `user:password@` hidden. */
function shownUrl(url) {
  return String(url).replace(/\/\/[^/?#@]*@/, '//<credentials hidden>@')
}

/** Parses and checks a URL as the WHATWG constructor does (relative URLs resolve against `globalThis.location`). */
function parseUrl(url, className = 'WebSocket') {
  let parsed
  try {
    parsed = new URL(String(url), baseUrl())
  } catch {
    throw syntaxError(`Failed to construct '${className}': The URL '${shownUrl(url)}' is invalid.`)
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:'
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:'
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw syntaxError(
      `Failed to construct '${className}': The URL's scheme must be either 'http', 'https', 'ws', or 'wss'. '${parsed.protocol.slice(0, -1)}' is not allowed.`,
    )
  }
  if (parsed.hash !== '' || String(url).endsWith('#')) {
    throw syntaxError(
      `Failed to construct '${className}': The URL contains a fragment identifier ('${parsed.hash}'). Fragment identifiers are not allowed in WebSocket URLs.`,
    )
  }
  return parsed
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Checks the `protocols` argument as the WHATWG constructor does. */
function parseProtocols(protocols, className = 'WebSocket') {
  if (protocols === undefined) return []
  const list = typeof protocols === 'string' ? [protocols] : Array.from(protocols, String)
  // Subprotocol names compare case-insensitively (RFC 6455 §4.1 names are
  // tokens; the WHATWG constructor rejects "echo" with "eCho").
  const seen = new Set()
  for (const p of list) {
    if (!TOKEN.test(p)) throw syntaxError(`Failed to construct '${className}': The subprotocol '${p}' is invalid.`)
    const key = p.toLowerCase()
    if (seen.has(key)) throw syntaxError(`Failed to construct '${className}': The subprotocol '${p}' is duplicated (names compare case-insensitively).`)
    seen.add(key)
  }
  return list
}

/**
 * Checks close(code, reason) as the WHATWG spec does and returns the
 * normalised pair: code 1000 or 3000-4999, reason at most 123 UTF-8 bytes.
 */
function checkClose(code, reason, className = 'WebSocket') {
  if (code !== undefined) {
    code = Number(code)
    if (!Number.isInteger(code) || (code !== 1000 && (code < 3000 || code > 4999))) {
      throw new DOMException(
        `Failed to execute 'close' on '${className}': The close code must be either 1000, or between 3000 and 4999. ${code} is neither.`,
        'InvalidAccessError',
      )
    }
  }
  if (reason !== undefined) {
    reason = String(reason)
    if (Buffer.byteLength(reason) > 123) {
      throw syntaxError(`Failed to execute 'close' on '${className}': The close reason must not be greater than 123 UTF-8 bytes.`)
    }
  }
  return [code, reason]
}

function percentDecode(s) {
  try {
    return decodeURIComponent(s)
  } catch {
    return s // a lone '%': sent as written
  }
}

/**
 * A URL's `user:password@`, moved into the handshake: returns the URL to
 * dial (without them, so they never reach the native side, its logs or its
 * errors) and adds `Authorization: Basic` (percent-decoded, UTF-8) to
 * `native.headers` unless the caller set an Authorization header.
 */
function dialUrlSendingCredentials(parsed, native) {
  if (parsed.username === '' && parsed.password === '') return parsed.href
  const basic = Buffer.from(`${percentDecode(parsed.username)}:${percentDecode(parsed.password)}`).toString('base64')
  if (!native.headers.some(([name]) => name.toLowerCase() === 'authorization')) native.headers.push(['Authorization', `Basic ${basic}`])
  const bare = new URL(parsed.href)
  bare.username = ''
  bare.password = ''
  return bare.href
}

/** A Uint8Array view of binary send data, or null for anything else. */
function toBytes(data) {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (data instanceof ArrayBuffer || Object.prototype.toString.call(data) === '[object SharedArrayBuffer]') {
    return new Uint8Array(data)
  }
  return null
}

/** A received Buffer as `binaryType` asks: Buffer, Blob or ArrayBuffer (no copy when it owns its memory). */
function asBinaryType(buf, binaryType) {
  switch (binaryType) {
    case 'nodebuffer':
      return buf
    case 'blob':
      return new Blob([buf])
    default:
      return buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength
        ? buf.buffer
        : buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
  }
}

/**
 * Walks one native batch in order. `sink.message(data, ts)` gets each text
 * (string) and binary (Buffer) message, `sink.control(ev)` each control
 * event, and the optional `sink.count(n, stringOrBuffer)` the number and
 * payload of messages for statistics (once per joined run, not per message).
 *
 * A sink that throws (a ws-style 'message' listener, say) does not cost
 * the rest of the batch: the exception is reported as uncaught on the next
 * tick (`reportError`, as from any event emitter), and the walk goes on.
 */
function forEachInBatch(batch, sink) {
  // One clock read per batch for the events' timeStamp (see lib/events.js).
  const ts = performance.now()
  for (let i = 0; i < batch.length; i++) {
    const item = batch[i]
    try {
      if (typeof item === 'string') {
        if (sink.count) sink.count(1, item)
        sink.message(item, ts)
      } else if (typeof item === 'number') {
        // A run of `item` text messages: their UTF-16 lengths (one code unit
        // each), then the texts joined (src/bindings/batch.rs).
        const lens = batch[++i]
        const text = batch[++i]
        if (sink.count) sink.count(item, text)
        runOfTexts(lens, text, sink, ts)
      } else if (Buffer.isBuffer(item)) {
        if (sink.count) sink.count(1, item)
        sink.message(item, ts)
      } else {
        sink.control(item)
      }
    } catch (e) {
      reportError(e)
    }
  }
}

/** The messages of one joined run, each delivered even if one throws. */
function runOfTexts(lens, text, sink, ts) {
  for (let j = 0, at = 0; j < lens.length; j++) {
    const end = at + lens.charCodeAt(j)
    try {
      sink.message(text.slice(at, end), ts)
    } catch (e) {
      reportError(e)
    }
    at = end
  }
}

module.exports = { parseUrl, dialUrlSendingCredentials, parseProtocols, checkClose, toBytes, asBinaryType, forEachInBatch }
