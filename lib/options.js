'use strict'
// Checks the `options` argument (ws names where WHATWG is silent) and turns
// it into what the native side takes. Every error names the option, says
// what was wrong, and what is expected.

function optionError(name, message) {
  return new TypeError(`clawsock: option '${name}' ${message}`)
}

function positiveMs(options, name, { allowZero = false } = {}) {
  const v = options[name]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw optionError(name, `must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds, got ${JSON.stringify(v)}`)
  }
  return v
}

function headerPairs(headers) {
  if (headers === undefined || headers === null) return []
  let entries
  if (typeof headers.entries === 'function' && !Array.isArray(headers)) entries = Array.from(headers.entries())
  else if (Array.isArray(headers)) entries = headers
  else if (typeof headers === 'object') entries = Object.entries(headers)
  else throw optionError('headers', `must be an object of name: value pairs, got ${typeof headers}`)
  const out = []
  for (const [name, value] of entries) {
    if (typeof name !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw optionError('headers', `has an invalid header name ${JSON.stringify(name)}`)
    }
    const values = Array.isArray(value) ? value : [value]
    for (const v of values) {
      if (v === undefined) continue
      const s = String(v)
      if (/[\r\n\0]/.test(s)) throw optionError('headers', `has a value for ${name} with a line break or NUL in it`)
      out.push([name, s])
    }
  }
  return out
}

/** @returns {object} the native options */
function toNativeOptions(options, protocols) {
  const o = options == null ? {} : options
  if (typeof o !== 'object') throw new TypeError(`clawsock: options must be an object, got ${typeof o}`)
  if (o.dispatcher !== undefined) {
    // Accepted by Node's WebSocket (undici): silently dropping it would skip a proxy.
    throw optionError('dispatcher', "is undici's (an Agent or ProxyAgent) and clawsock cannot use one: it dials by itself. Remove it; set headers and tls here")
  }
  const native = { protocols }
  native.headers = headerPairs(o.headers)
  if (o.origin !== undefined) native.headers.push(['Origin', String(o.origin)])
  native.handshakeTimeout = positiveMs(o, 'handshakeTimeout')
  if (o.maxPayload !== undefined) {
    if (typeof o.maxPayload !== 'number' || !(o.maxPayload > 0)) throw optionError('maxPayload', `must be a positive number of bytes, got ${JSON.stringify(o.maxPayload)}`)
    native.maxPayload = o.maxPayload
  }
  native.pingInterval = positiveMs(o, 'pingInterval', { allowZero: true })
  native.pongTimeout = positiveMs(o, 'pongTimeout')
  native.closeTimeout = positiveMs(o, 'closeTimeout')
  const tls = o.tls
  if (tls !== undefined && tls !== null) {
    if (typeof tls !== 'object') throw optionError('tls', 'must be an object like { ca, rejectUnauthorized, servername }')
    if (tls.ca !== undefined) {
      const list = Array.isArray(tls.ca) ? tls.ca : [tls.ca]
      native.ca = list.map((c, i) => {
        if (typeof c === 'string') return c
        if (Buffer.isBuffer(c) || c instanceof Uint8Array) return Buffer.from(c).toString('utf8')
        throw optionError(`tls.ca[${i}]`, 'must be a PEM string or Buffer')
      })
    }
    if (tls.rejectUnauthorized !== undefined) native.rejectUnauthorized = Boolean(tls.rejectUnauthorized)
    if (tls.servername !== undefined) native.servername = String(tls.servername)
  }
  for (const k of Object.keys(native)) if (native[k] === undefined) delete native[k]
  return native
}

module.exports = { toNativeOptions }
