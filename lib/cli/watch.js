'use strict'
// `clawsock watch <url>`: stay connected and print what happens.
//
// Plain WebSocket (ReconnectingWebSocket): opens, messages, closes with the
// meaning of the code, reconnects with their delays, the final stop and why
// (e.g. 4001: another client took this identity; no kick war).
// `--gateway` (GatewayClient): state changes, hello, events with their seq
// (ticks included), seq gaps, disconnects, reconnects, a paused connect with
// its next step.
//
// It runs until --duration ms have passed (exit 0), or until the client
// stops for good (exit 8 for a final close, 9 for a paused gateway connect).

const { parseArgs, parseHeader, parseWsUrl, parseProxyArg, UsageError } = require('./args.js')
const { EXIT, fmtMs, Output, native } = require('./output.js')
const { CLIENT_SPEC, CLIENT_OPTIONS_HELP, clientOptions, helloSummary } = require('./gateway.js')

const SPEC = { ...CLIENT_SPEC, gateway: 'bool', duration: 'ms', header: 'list', protocol: 'list' }

const USAGE = `Usage: clawsock watch <url> [--gateway] [--duration ms] [options]

Stays connected (reconnecting with backoff) and prints each event with the
time since start: opens, messages, closes and what their codes mean,
reconnects with their delays, and the final stop with the reason. With
--gateway it speaks the OpenClaw protocol and prints gateway events (ticks,
seq numbers and gaps) instead of raw messages.

Options:
  --gateway              OpenClaw gateway mode
  --duration <ms>        stop after this long (default: until stopped for good or Ctrl-C)
  --header 'Name: value' add a request (upgrade) header (repeatable; values never printed)
  --protocol <name>      offer a subprotocol (plain mode; repeatable)
Gateway mode:
${CLIENT_OPTIONS_HELP}`

function preview(data) {
  if (typeof data !== 'string') {
    const n = data && data.byteLength !== undefined ? data.byteLength : 0
    return `binary, ${n} bytes`
  }
  return data.length > 200 ? `${JSON.stringify(data.slice(0, 200))}… (${data.length} chars)` : JSON.stringify(data)
}

async function watchCommand(argv, io) {
  io = { env: process.env, ...io }
  const { options, positionals } = parseArgs(argv, SPEC, { h: 'help' })
  if (options.help) {
    io.stdout.write(`${USAGE}\n`)
    return EXIT.ok
  }
  if (positionals.length !== 1) throw new UsageError(`watch takes one URL, got ${positionals.length} arguments`)
  const url = parseWsUrl(positionals[0])
  const started = performance.now()
  const events = []
  let secrets = []
  const headers = (options.header || []).map(parseHeader)
  secrets = headers.filter(([n]) => native.isSecretHeader(n)).map(([, v]) => v)
  const proxy = parseProxyArg(options.proxy)
  let gw = null
  if (options.gateway) {
    gw = clientOptions(url, options, io.env)
    secrets = secrets.concat(gw.secrets)
  }
  const out = new Output({ json: options.json, stdout: io.stdout, stderr: io.stderr, secrets })
  const log = (type, fields, text) => {
    const at = Math.round((performance.now() - started) * 100) / 100
    events.push({ at, type, ...fields })
    out.line(`${fmtMs(at).padStart(9)}  ${text}`)
  }
  out.line(`watch ${native.redactUrl(url)}${options.gateway ? ' (OpenClaw gateway)' : ''}${options.duration ? ` for ${fmtMs(options.duration)}` : ''}`)

  const result = await new Promise((resolve) => {
    let timer = null
    let stop
    let stoppedByDuration = false
    const finish = (r) => {
      if (timer) clearTimeout(timer)
      process.off('SIGINT', onSigint)
      resolve(r)
    }
    const onSigint = () => {
      stoppedByDuration = true
      log('interrupted', {}, 'interrupted (Ctrl-C): closing')
      stop()
    }
    process.once('SIGINT', onSigint)

    if (!options.gateway) {
      const { ReconnectingWebSocket } = require('../reconnecting.js')
      const ws = new ReconnectingWebSocket(url, options.protocol, { headers: Object.fromEntries(headers), ...(proxy === undefined ? {} : { proxy }) })
      stop = () => ws.close()
      ws.addEventListener('open', () => log('open', { protocol: ws.protocol }, `open${ws.protocol ? ` (subprotocol ${ws.protocol})` : ''}`))
      ws.addEventListener('message', (e) => log('message', { data: typeof e.data === 'string' ? e.data : null }, `message: ${preview(e.data)}`))
      ws.addEventListener('error', (e) => log('error', { message: e.message }, `error: ${e.message}`))
      ws.addEventListener('close', (e) => {
        const info = native.closeCodeInfo(e.code)
        log('close', { code: e.code, reason: e.reason, wasClean: e.wasClean, meaning: info.meaning }, `close ${native.describeClose(e.code, e.code === 1006 ? '' : e.reason, false)}`)
      })
      ws.addEventListener('reconnecting', (e) => log('reconnecting', { attempt: e.attempt, delayMs: e.delay }, `reconnecting: attempt ${e.attempt} in ${fmtMs(e.delay)}`))
      ws.addEventListener('dropped', (e) => log('dropped', { count: e.messages.length }, `dropped ${e.messages.length} queued message(s)`))
      ws.addEventListener('terminal', (e) => {
        const user = e.kind === 'user-closed'
        if (!user) log('terminal', { kind: e.kind, code: e.code, reason: e.reason, message: e.message }, `stopped for good (${e.kind}): ${e.message}`)
        else log('stopped', {}, 'closed')
        finish({ exitCode: user || stoppedByDuration ? EXIT.ok : EXIT.closed, terminal: user ? null : { kind: e.kind, code: e.code, reason: e.reason, message: e.message } })
      })
    } else {
      const { GatewayClient } = require('../gateway.js')
      let client
      try {
        client = new GatewayClient(gw.opts)
      } catch (err) {
        finish({ exitCode: EXIT.usage, terminal: { kind: 'usage', message: err.message } })
        return
      }
      stop = () => client.close()
      let paused = null
      client.on('state', (s) => log('state', { state: s }, `state: ${s}`))
      client.on('hello', (h) => {
        const s = helloSummary(h, 0)
        log('hello', { serverVersion: s.serverVersion, protocol: s.protocol, scopes: s.auth.scopes, tickIntervalMs: s.policy.tickIntervalMs }, `hello: OpenClaw ${s.serverVersion}, protocol ${s.protocol}, scopes ${s.auth.scopes.join(', ') || '(none)'}, tick every ${fmtMs(s.policy.tickIntervalMs)}`)
      })
      client.on('event', (ev) => {
        const seq = ev.seq === undefined || ev.seq === null ? '' : ` seq ${ev.seq}`
        log('event', { event: ev.event, seq: ev.seq ?? null }, `event ${ev.event}${seq}`)
      })
      client.on('gap', (g) => log('gap', { expected: g.expected, received: g.received }, `seq gap: expected ${g.expected}, received ${g.received} (${g.received - g.expected} event(s) missed; re-fetch state)`))
      client.on('disconnect', (d) => log('disconnect', { code: d.code, reason: d.reason, byServer: d.byServer, phase: d.phase }, `disconnected${d.phase ? ` during ${d.phase}` : ''}: ${native.describeClose(d.code, d.code === 1006 ? '' : d.reason || '', true)}`))
      client.on('reconnecting', (r) => log('reconnecting', { attempt: r.attempt, delayMs: r.delay }, `reconnecting: attempt ${r.attempt} in ${fmtMs(r.delay)}`))
      client.on('error', (e) => log('error', { kind: e.kind, message: e.message }, `error (${e.kind}): ${e.message}`))
      client.on('paused', (p) => {
        paused = { detailCode: p.detailCode, message: p.message, nextStep: p.nextStep }
        log('paused', paused, `paused (${p.detailCode}): ${p.message}${p.nextStep ? `\n           next step: ${p.nextStep}` : ''}`)
        client.close()
      })
      client.on('close', (c) => {
        const user = c.kind === 'user-closed'
        if (!user) log('terminal', { kind: c.kind, code: c.code, reason: c.reason, message: c.message }, `stopped for good (${c.kind}): ${c.message}`)
        else log('stopped', {}, 'closed')
        const exitCode = paused ? EXIT['gateway-auth'] : user ? EXIT.ok : EXIT.closed
        finish({ exitCode, terminal: paused ? { kind: 'paused', ...paused } : user ? null : { kind: c.kind, code: c.code, reason: c.reason, message: c.message } })
      })
    }
    if (options.duration !== undefined) {
      timer = setTimeout(() => {
        stoppedByDuration = true
        log('duration', {}, `--duration ${fmtMs(options.duration)} reached: closing`)
        stop()
      }, options.duration)
    }
  })
  out.line(`exit ${result.exitCode}`)
  out.result({ command: 'watch', url: native.redactUrl(url), gateway: Boolean(options.gateway), ok: result.exitCode === EXIT.ok, exitCode: result.exitCode, terminal: result.terminal, events })
  return result.exitCode
}

module.exports = { watchCommand }
