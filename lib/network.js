'use strict'
// The network options shared by WebSocket, ReconnectingWebSocket,
// GatewayClient and the CLI: Happy Eyeballs (autoSelectFamily,
// autoSelectFamilyAttemptTimeout, family), redirects (followRedirects,
// maxRedirects) and the proxy decision.
//
// The proxy decision is made here, on the JS thread, when a connection
// starts: the `proxy` option and the environment are read now and handed to
// the native side as plain data (the native side never reads the proxy
// environment). The rules, in order (README "Proxies"):
//   1. OPENCLAW_PROXY_ACTIVE=1: OpenClaw's managed proxy (HTTP_PROXY as
//      OpenClaw sets it), whatever the `proxy` option says (`false`
//      included); loopback destinations follow OPENCLAW_PROXY_LOOPBACK_MODE
//      (gateway-only: direct; proxy: through it; block: refused);
//      OPENCLAW_PROXY_CA_FILE verifies an https:// proxy.
//   2. proxy: URL: that proxy for every destination.
//   3. proxy: 'env', or NODE_USE_ENV_PROXY=1 without a `proxy` option:
//      https_proxy / http_proxy / all_proxy and no_proxy (lowercase wins, as
//      curl does; an empty value counts as unset).
//   4. Otherwise (or proxy: false): direct.
// A proxy URL's credentials become a ready Proxy-Authorization value and are
// never part of an error message.

const fs = require('node:fs')

const NETWORK_KEYS = ['autoSelectFamily', 'autoSelectFamilyAttemptTimeout', 'family', 'proxy', 'followRedirects', 'maxRedirects']
const PROXY_KEYS = ['url', 'ca']
const LOOPBACK_MODES = { 'gateway-only': 'direct', proxy: 'proxy', block: 'block' }

function show(v) {
  if (typeof v === 'function') return 'a function'
  try { return JSON.stringify(v) ?? String(v) } catch { return String(v) }
}

/** A proxy URL without its credentials, for messages. */
function shownProxy(u) {
  return `${u.protocol}//${u.host}`
}

/**
 * Parses a proxy URL into what the native side takes. `what` names where the
 * URL came from, for errors (which never show the URL's credentials).
 */
function parseProxyUrl(value, what) {
  let u
  try {
    u = value instanceof URL ? value : new URL(String(value))
  } catch {
    throw new TypeError(`clawsock: ${what} is not a valid URL; expected http://host:port or https://host:port (credentials as http://user:password@host:port)`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new TypeError(`clawsock: ${what} must be an http:// or https:// proxy URL, got a ${u.protocol} URL (${u.protocol}//${u.host}); clawsock speaks HTTP CONNECT to the proxy`)
  }
  const secure = u.protocol === 'https:'
  const server = {
    secure,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : secure ? 443 : 80,
  }
  if (u.username || u.password) {
    let user, pass
    try {
      user = decodeURIComponent(u.username)
      pass = decodeURIComponent(u.password)
    } catch {
      throw new TypeError(`clawsock: the credentials in ${what} (${shownProxy(u)}) are not valid percent-encoding`)
    }
    server.authorization = `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`
  }
  return server
}

/** An environment variable, lowercase first (curl's rule); '' is unset. */
function envVar(env, name) {
  const lower = env[name.toLowerCase()]
  if (lower !== undefined && lower !== '') return { name: name.toLowerCase(), value: lower }
  const upper = env[name.toUpperCase()]
  if (upper !== undefined && upper !== '') return { name: name.toUpperCase(), value: upper }
  return null
}

function fromEnv(v) {
  return v && parseProxyUrl(v.value, `the ${v.name} environment variable`)
}

function readCa(file, what) {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw new TypeError(`clawsock: ${what} names ${JSON.stringify(file)}, which cannot be read (${err.code || err.message}); fix the path or unset it`)
  }
}

function proxyCa(ca, fail) {
  if (ca === undefined || ca === null) return []
  const list = Array.isArray(ca) ? ca : [ca]
  return list.map((c, i) => {
    if (typeof c === 'string') return c
    if (c instanceof Uint8Array) return Buffer.from(c).toString('utf8')
    throw fail(`proxy.ca[${i}]`, 'must be a PEM string or Buffer')
  })
}

/** `proxyOption` for an absent `proxy` (read only, shared). */
const NO_PROXY_OPTION = Object.freeze({ url: undefined, ca: Object.freeze([]) })

/** The `proxy` option as { url, ca } (url: URL string, URL, false, 'env' or undefined). */
function proxyOption(v, fail) {
  if (v === undefined || v === null) return NO_PROXY_OPTION
  if (v === false || v === 'env' || typeof v === 'string' || v instanceof URL) return { url: v, ca: [] }
  if (typeof v === 'object' && !Array.isArray(v)) {
    for (const k of Object.keys(v)) {
      if (!PROXY_KEYS.includes(k)) throw fail(`proxy.${k}`, `is not a known option; known: ${PROXY_KEYS.join(', ')}`)
    }
    if (v.url !== undefined && v.url !== false && typeof v.url !== 'string' && !(v.url instanceof URL)) {
      throw fail('proxy.url', `must be a proxy URL string, a URL, false or 'env', got ${show(v.url)}`)
    }
    return { url: v.url, ca: proxyCa(v.ca, fail) }
  }
  throw fail('proxy', `must be a proxy URL string ('http://host:port'), a URL, false, 'env' or { url, ca }, got ${show(v)}`)
}

let overriddenWarned = false

/** One process warning: OpenClaw's managed proxy wins over the `proxy` option. */
function warnOverridden(what) {
  if (overriddenWarned) return
  overriddenWarned = true
  process.emitWarning(`clawsock: ${what} is overridden: OpenClaw's managed proxy is active (OPENCLAW_PROXY_ACTIVE=1), and every connection goes through it (loopback as OPENCLAW_PROXY_LOOPBACK_MODE says); it is the operator's egress boundary`, { code: 'CLAWSOCK_PROXY_MANAGED' })
}

/**
 * The proxy decision for a connection starting now, from the `proxy` option
 * and `env` (the rules at the top of this file). Returns undefined for direct.
 */
function proxyPlan(option, fail, env = process.env) {
  const { url, ca } = proxyOption(option, fail)
  const explicit = url !== undefined && url !== false && url !== 'env' ? parseProxyUrl(url, "option 'proxy'") : null
  if (env.OPENCLAW_PROXY_ACTIVE === '1') {
    const managed = ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'].find((k) => env[k])
    if (!managed) {
      throw new TypeError('clawsock: OpenClaw\'s managed proxy is active (OPENCLAW_PROXY_ACTIVE=1) but HTTP_PROXY is not set; refusing to connect around it. Restart the gateway so it sets the proxy environment, or check proxy.proxyUrl')
    }
    const server = parseProxyUrl(env[managed], `the ${managed} environment variable (OpenClaw's managed proxy)`)
    if (url === false || explicit) warnOverridden(url === false ? 'proxy: false' : 'the proxy option')
    const caList = [...ca]
    if (env.OPENCLAW_PROXY_CA_FILE) caList.push(readCa(env.OPENCLAW_PROXY_CA_FILE, 'OPENCLAW_PROXY_CA_FILE'))
    return {
      ws: server,
      wss: server,
      loopback: LOOPBACK_MODES[env.OPENCLAW_PROXY_LOOPBACK_MODE] || 'direct',
      ca: caList,
      source: 'openclaw',
    }
  }
  if (url === false) return undefined
  if (explicit) return { ws: explicit, wss: explicit, loopback: 'as-any', ca, source: 'option' }
  if (url === 'env' || env.NODE_USE_ENV_PROXY === '1') {
    const all = envVar(env, 'all_proxy')
    const ws = fromEnv(envVar(env, 'http_proxy') || all)
    const wss = fromEnv(envVar(env, 'https_proxy') || all)
    if (!ws && !wss) return undefined
    const noProxy = envVar(env, 'no_proxy')
    return {
      ws: ws || undefined,
      wss: wss || undefined,
      noProxy: noProxy ? noProxy.value.split(/[\s,]+/).filter(Boolean) : [],
      loopback: 'as-any',
      ca,
      source: 'env',
    }
  }
  return undefined
}

const BOOLEAN_NETWORK_OPTIONS = ['autoSelectFamily', 'followRedirects']

/**
 * Checks the network options in `o` (an options object) and returns the
 * native `network` object. `fail(name, message)` makes the caller's
 * TypeError. Reads the environment (see proxyPlan). Unknown and unsupported
 * top-level keys (`agent`, misspellings) are lib/options.js's business.
 */
function networkOptions(o, fail) {
  const n = {}
  for (const k of BOOLEAN_NETWORK_OPTIONS) {
    if (o[k] === undefined) continue
    if (typeof o[k] !== 'boolean') throw fail(k, `must be true or false, got ${show(o[k])}`)
    n[k] = o[k]
  }
  const t = o.autoSelectFamilyAttemptTimeout
  if (t !== undefined) {
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
      throw fail('autoSelectFamilyAttemptTimeout', `must be a positive number of milliseconds (values below 10 count as 10, as in Node), got ${show(t)}`)
    }
    n.autoSelectFamilyAttemptTimeout = Math.max(10, t)
  }
  if (o.family !== undefined) {
    if (o.family !== 0 && o.family !== 4 && o.family !== 6) throw fail('family', `must be 0 (both), 4 (IPv4 only) or 6 (IPv6 only), got ${show(o.family)}`)
    n.family = o.family
  }
  if (o.maxRedirects !== undefined) {
    if (!Number.isInteger(o.maxRedirects) || o.maxRedirects < 0 || o.maxRedirects > 1000) {
      throw fail('maxRedirects', `must be a whole number from 0 to 1000, got ${show(o.maxRedirects)}`)
    }
    n.maxRedirects = o.maxRedirects
  }
  const plan = proxyPlan(o.proxy, fail)
  if (plan) n.proxy = plan
  return n
}

module.exports = { NETWORK_KEYS, networkOptions, proxyPlan, parseProxyUrl }
