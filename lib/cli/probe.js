'use strict'
// `clawsock probe <url>`: does a plain WebSocket connection to this server
// work from this machine, and if not, at which step does it fail and why?

const fs = require('node:fs')
const { parseArgs, parseHeader, parseWsUrl, parseProxyArg, UsageError } = require('./args.js')
const { EXIT, fmtMs, certFacts, Output, native } = require('./output.js')
const { networkOptions } = require('../network.js')

const SPEC = {
  header: 'list',
  protocol: 'list',
  timeout: 'ms',
  send: 'string',
  listen: 'ms',
  ca: 'list',
  insecure: 'bool',
  servername: 'string',
  proxy: 'string',
  'follow-redirects': 'bool',
  'max-redirects': 'string',
  json: 'bool',
  help: 'bool',
}

const USAGE = `Usage: clawsock probe <url> [options]

Connects to <url> (ws:// or wss://) step by step and reports each step with its
timing: DNS, TCP, TLS (version, cipher, certificate subject and expiry, why
verification failed), HTTP upgrade (status, body on failure, subprotocol,
extensions). Optionally sends one text message and prints what comes back,
then closes cleanly. On a close it prints the code, the reason and what the
code means.

Options:
  --header 'Name: value'  add a request header (repeatable; values are never printed)
  --protocol <name>       offer a subprotocol (repeatable)
  --timeout <ms>          deadline for connecting, and for the reply to --send (default 10000)
  --send <text>           send this text once open and print the reply
  --listen <ms>           stay connected this long after open (after the reply), printing
                          messages; the server closing the connection ends it early
  --ca <file>             trust this PEM CA instead of the default roots (repeatable)
  --insecure              do not verify the server certificate (diagnostics only)
  --servername <name>     TLS server name (SNI) to send and verify
  --proxy <url|env|off>   connect through this http:// or https:// proxy (HTTP CONNECT;
                          credentials as http://user:password@host:port, never printed);
                          'env': HTTPS_PROXY/HTTP_PROXY/ALL_PROXY and NO_PROXY; 'off': direct.
                          Default: the environment rules of the library (README "Proxies")
  --follow-redirects      follow 301/302/303/307/308 answers to the upgrade (each hop reported)
  --max-redirects <n>     the most redirects to follow (default 10)
  --json                  print one JSON object instead of text`

const STEP_LABEL = { dns: 'DNS', tcp: 'TCP', proxy: 'proxy', redirect: 'redirect', tls: 'TLS', upgrade: 'upgrade' }

function attemptsLine(s) {
  if (!s.attempts || s.attempts.length < 2) return []
  return [`           addresses: ${s.attempts.map((a) => `${a.address} ${a.outcome}`).join('; ')}`]
}

function pad(s, n) {
  return String(s).padEnd(n)
}

function stepLines(s) {
  const head = `  ${pad(STEP_LABEL[s.step] || s.step, 8)} ${pad(s.ok ? 'ok' : 'FAILED', 6)} ${pad(fmtMs(s.ms), 9)}`
  const lines = []
  switch (s.step) {
    case 'dns':
      lines.push(`${head} ${!s.ok ? s.error || '' : s.proxy ? `the proxy ${s.proxy} → ${s.addresses.join(', ')}` : s.addresses.length === 1 && s.addresses[0] === s.host ? `${s.host} (an IP address: no lookup)` : `${s.host} → ${s.addresses.join(', ')}`}`)
      break
    case 'tcp':
      lines.push(`${head} ${s.ok ? `connected to ${s.peer}` : s.error || ''}`, ...attemptsLine(s))
      break
    case 'proxy':
      lines.push(`${head} ${s.ok ? `tunnel open through ${s.proxy} (from ${s.source === 'openclaw' ? "OpenClaw's managed proxy" : s.source === 'env' ? 'the environment' : '--proxy'})` : s.error || ''}`)
      break
    case 'redirect':
      lines.push(`${head} hop ${s.hop}: HTTP ${s.status} → ${s.location}`)
      break
    case 'tls': {
      lines.push(`${head} ${s.ok ? `${s.version || '?'}, ${s.cipher || '?'}${s.verified ? ', certificate verified' : ', certificate NOT verified (--insecure)'}` : s.error || ''}`)
      const leaf = s.certificates && s.certificates[0]
      if (leaf) {
        const c = certFacts(leaf)
        if (c.error) lines.push(`           certificate: ${c.error}`)
        else {
          lines.push(`           certificate: ${c.subject}; issued by ${c.issuer}${c.selfSigned ? ' (self-signed)' : ''}`)
          lines.push(`           valid until ${c.validTo.slice(0, 10)} (${c.daysLeft >= 0 ? `${c.daysLeft} days left` : `EXPIRED ${-c.daysLeft} days ago`})${c.subjectAltName ? `; names: ${c.subjectAltName}` : ''}`)
        }
      }
      break
    }
    case 'upgrade':
      if (s.ok) {
        lines.push(`${head} HTTP ${s.status}; subprotocol: ${s.protocol || '(none)'}; extensions: ${s.extensions || '(none)'}${s.server ? `; server: ${s.server}` : ''}`)
      } else {
        lines.push(`${head} ${s.status ? `HTTP ${s.status}` : s.error || ''}`)
        if (s.status && s.body && s.body.trim()) lines.push(`           body: ${JSON.stringify(s.body.trim().slice(0, 200))}`)
      }
      if (s.headers && s.headers.length) lines.push(`           request headers sent: ${s.headers.join(', ')} (values not shown)`)
      break
    default:
      lines.push(head)
  }
  return lines
}

function messageLine(m) {
  const dir = m.direction === 'sent' ? 'sent    ' : 'received'
  if (m.kind === 'binary') return `  ${dir} binary, ${m.bytes} bytes: ${m.hex}${m.truncated ? '…' : ''}`
  return `  ${dir} text, ${m.bytes} bytes: ${m.data}${m.truncated ? '…' : ''}`
}

function closeLines(c) {
  const who = c.initiatedBy === 'client' ? 'closed by clawsock' : c.code === 1006 ? 'connection lost' : 'closed by the server'
  const lines = [`  close    ${c.code}${c.reason && c.code !== 1006 ? ` "${c.reason}"` : ''} (${who} after ${fmtMs(c.openMs)}${c.wasClean ? ', clean' : ''})`]
  lines.push(`           meaning: ${c.meaning}`)
  if (c.openclaw) lines.push(`           on an OpenClaw gateway: ${c.openclaw.replace(/^OpenClaw: /, '')}`)
  if (c.code === 1006 && c.error) lines.push(`           detail: ${c.error}`)
  if (c.nextStep && c.initiatedBy !== 'client') lines.push(`           next step: ${c.nextStep}`)
  return lines
}

/** Turns the native report into the --json object (certificates parsed). */
function toJson(report) {
  const steps = {}
  const redirects = []
  for (const s of report.steps) {
    const { step, certificates, ...rest } = s
    if (step === 'redirect') {
      redirects.push(rest)
      continue
    }
    if (certificates) {
      const chain = certificates.map(certFacts)
      rest.certificate = chain[0] || null
      rest.chain = chain
    }
    steps[step] = rest
  }
  return {
    command: 'probe',
    url: report.url,
    ok: report.ok,
    exitCode: report.exitCode,
    class: report.class,
    steps,
    redirects,
    messages: report.messages,
    close: report.close,
    failure: report.failure,
    totalMs: report.totalMs,
  }
}

async function probeCommand(argv, io) {
  const { options, positionals } = parseArgs(argv, SPEC, { h: 'help' })
  if (options.help) {
    io.stdout.write(`${USAGE}\n`)
    return EXIT.ok
  }
  if (positionals.length > 1) throw new UsageError(`probe takes one URL, got ${positionals.length} arguments`)
  const url = parseWsUrl(positionals[0])
  const headers = (options.header || []).map(parseHeader)
  const ca = (options.ca || []).map((f) => {
    try {
      return fs.readFileSync(f, 'utf8')
    } catch (err) {
      throw new UsageError(`--ca ${f}: cannot read it (${err.code || err.message})`)
    }
  })
  const secrets = headers.filter(([n]) => native.isSecretHeader(n)).map(([, v]) => v)
  const netOpts = { followRedirects: Boolean(options['follow-redirects']) }
  if (options['max-redirects'] !== undefined) {
    const n = Number(options['max-redirects'])
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--max-redirects must be a whole number >= 0, got ${JSON.stringify(options['max-redirects'])}`)
    netOpts.maxRedirects = n
  }
  netOpts.proxy = parseProxyArg(options.proxy)
  const network = networkOptions(netOpts, (name, message) => new UsageError(`--${name} ${message}`))
  const out = new Output({ json: options.json, stdout: io.stdout, stderr: io.stderr, secrets })

  out.line(`probe ${native.redactUrl(url)}`)
  let printedSteps = 0
  let printedMessages = 0
  let printedClose = false
  let done = false
  const listen = options.listen || 0
  const onEvent = (ev) => {
    if (done || options.json) return
    if (ev.type === 'step') {
      printedSteps++
      for (const l of stepLines(ev)) out.line(l)
      if (ev.step === 'upgrade' && ev.ok && listen > 0) out.line(`  (open; listening for ${fmtMs(listen)})`)
    } else if (ev.type === 'message') {
      printedMessages++
      out.line(messageLine(ev))
    } else if (ev.type === 'close') {
      printedClose = true
      for (const l of closeLines(ev)) out.line(l)
    }
  }
  const text = await native.probe(url, {
    headers,
    protocols: options.protocol,
    timeout: options.timeout ?? 10_000,
    send: options.send,
    listen,
    ca: ca.length ? ca : undefined,
    rejectUnauthorized: !options.insecure,
    servername: options.servername,
    network,
  }, onEvent)
  done = true
  const report = JSON.parse(text)
  if (options.json) {
    out.result(toJson(report))
    return report.exitCode
  }
  // Whatever the live events did not print yet (they may arrive after the result).
  for (const s of report.steps.slice(printedSteps)) for (const l of stepLines(s)) out.line(l)
  for (const m of report.messages.slice(printedMessages)) out.line(messageLine(m))
  if (report.close && !printedClose) for (const l of closeLines(report.close)) out.line(l)
  if (report.ok) {
    out.line(`result: OK: a WebSocket connection to this server works from this machine (${fmtMs(report.totalMs)}; exit 0)`)
  } else {
    const f = report.failure
    // For a close the details (meaning, next step) are printed above already.
    const what = f.kind === 'closed' ? f.message.split('. Next step:')[0] : f.message
    out.line(`result: FAILED ${f.step === 'open' ? 'after the connection opened' : `at ${f.step}`}: ${what}`)
    out.line(`exit ${report.exitCode} (${report.class})`)
  }
  return report.exitCode
}

module.exports = { probeCommand }
