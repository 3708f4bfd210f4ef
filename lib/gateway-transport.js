'use strict'
// The transport policy of OpenClaw's reference gateway client (anchor §1.9),
// checked for GatewayClient by lib/options.js:
//
// - Plaintext ws:// only to hosts whose traffic stays private: loopback,
//   `localhost`, private, link-local and CGNAT IPv4, ULA and link-local IPv6,
//   and names ending in `.local` or `.ts.net`. OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1
//   (the reference's switch) also lets any host *name* through. Anything else
//   is a configuration error: the token and the device signature would cross
//   the network unencrypted. `allowPlaintext: true` is the explicit opt-out.
// - `tlsFingerprint`: a SHA-256 of the leaf certificate, as 64 hex digits or
//   colon-separated pairs, with an optional `sha256:` prefix (normalized to
//   lowercase hex). It needs wss://, and replaces CA verification.

/** Whether plaintext to `hostname` (as URL.hostname gives it) stays private. */
function privateHost(hostname) {
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase()
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.local') || host.endsWith('.ts.net')) return true
  // node:net loads here, on first use: it is not loaded at Node's start.
  const kind = require('node:net').isIP(host)
  if (kind === 4) {
    const [a, b] = host.split('.').map(Number)
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
      (a === 169 && b === 254) || (a === 100 && b >= 64 && b <= 127)
  }
  if (kind === 6) {
    if (host === '::1') return true
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)
    if (mapped) return privateHost(mapped[1])
    // URL writes an IPv4-mapped address in hex (::ffff:7f00:1).
    const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host)
    if (hex) {
      const [hi, lo] = [parseInt(hex[1], 16), parseInt(hex[2], 16)]
      return privateHost(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`)
    }
    const first = parseInt(host.split(':')[0] || '0', 16)
    return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80
  }
  return process.env.OPENCLAW_ALLOW_INSECURE_PRIVATE_WS === '1'
}

/**
 * Throws (a TypeError, never retried) if `url` is plaintext ws:// to a host
 * that is not private, unless `allowPlaintext`. `url` is a string.
 */
function checkPlaintext(url, allowPlaintext, pinned) {
  let u
  try {
    u = new URL(url)
  } catch {
    return // the native side names a bad URL
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'http:') return
  if (pinned) {
    throw new TypeError('clawsock: GatewayClient option \'tlsFingerprint\' needs a wss:// URL: a pin on plaintext ws:// protects nothing')
  }
  if (allowPlaintext || privateHost(u.hostname)) return
  throw new TypeError(`clawsock: GatewayClient: SECURITY ERROR: Cannot connect to ${u.host} over plaintext ws://: the token and the device signature would cross the network unencrypted. ` +
    'Use wss:// (with tlsFingerprint for a self-signed gateway.tls certificate); plaintext is allowed only to loopback, private and link-local addresses and .local/.ts.net names ' +
    '(OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1 also allows other host names). To accept the risk anyway, pass allowPlaintext: true.')
}

/** OpenClaw's fingerprint spellings as 64 lowercase hex digits; null if it is not one. */
function normalizeFingerprint(value) {
  if (typeof value !== 'string') return null
  const hex = value.trim().replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase()
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null
}

module.exports = { checkPlaintext, normalizeFingerprint, privateHost }
