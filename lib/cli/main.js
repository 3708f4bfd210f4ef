'use strict'
// The clawsock command: dispatch, help, exit codes.
//
//   clawsock probe <url> …            one plain WebSocket connection, step by step
//   clawsock gateway <url> …          the OpenClaw handshake
//   clawsock gateway call <url> <method> [params-json]
//   clawsock watch <url> …            stay connected, print events and reconnects
//   clawsock codes [code…]            what close codes mean
//
// Every run ends with an exit code from the table in src/cli/mod.rs
// (ExitClass), printed by `clawsock --help`.

const { UsageError } = require('./args.js')
const { EXIT, native, scrub } = require('./output.js')

function helpText() {
  const codes = native.exitCodeTable().map((e) => `  ${String(e.code).padStart(2)}  ${e.description}`).join('\n')
  return `clawsock: WebSocket and OpenClaw gateway diagnostics

Usage:
  clawsock probe <url> [--header 'K: V']… [--timeout ms] [--send text] [--listen ms] [--json]
      Connect step by step (DNS, TCP, TLS, HTTP upgrade) and report each step
      with its timing, the TLS certificate, and on a close the code's meaning.
  clawsock gateway <url> [--token T | --password P] [--identity FILE] [--json]
      Run the full OpenClaw handshake; print the server version, protocol,
      scopes, methods and events, policy; or the error and the next step.
  clawsock gateway call <url> <method> [params-json] [--token T …] [--json]
      One gateway request; print the result.
  clawsock watch <url> [--gateway] [--duration ms] [--token T …] [--json]
      Stay connected and print what happens: messages (or gateway events,
      ticks and seq gaps), closes, reconnects with their delays, final stops.
  clawsock codes [code…] [--json]
      What WebSocket close codes mean (1000-1015, 4000-4999, OpenClaw's).
  clawsock <command> --help   options of one command

Secrets: header values, tokens and passwords are never printed, also not
with --json or CLAWSOCK_LOG. For gateway commands OPENCLAW_GATEWAY_TOKEN and
OPENCLAW_GATEWAY_PASSWORD are used when --token / --password are absent
(an environment variable does not show up in the process list).

Logs: CLAWSOCK_LOG=info|debug|trace writes structured logs from the Rust
core to stderr (connection steps, close codes, reconnect decisions).

Exit codes:
${codes}
`
}

function codesCommand(argv, io) {
  const json = argv.includes('--json')
  const args = argv.filter((a) => a !== '--json')
  for (const a of args) if (!/^\d+$/.test(a)) throw new UsageError(`codes takes close codes (numbers), got ${JSON.stringify(a)}`)
  const list = args.length ? args.map((a) => native.closeCodeInfo(Number(a))) : native.closeCodeTable()
  if (json) {
    io.stdout.write(`${JSON.stringify({ command: 'codes', codes: list })}\n`)
    return EXIT.ok
  }
  for (const e of list) {
    io.stdout.write(`${e.code}  ${e.meaning}\n`)
    if (e.openclaw) io.stdout.write(`      ${e.openclaw}\n`)
    if (e.nextStep) io.stdout.write(`      next step: ${e.nextStep}\n`)
  }
  if (!args.length) io.stdout.write('3000-3999  registered for libraries and frameworks\n4000-4999  application-defined (the server decides; see its documentation)\n')
  return EXIT.ok
}

async function main(argv, io) {
  const [cmd, ...rest] = argv
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(helpText())
      return cmd === undefined ? EXIT.usage : EXIT.ok
    case '--version':
    case '-v':
      io.stdout.write(`clawsock ${require('../../package.json').version}\n`)
      return EXIT.ok
    case 'probe':
      return require('./probe.js').probeCommand(rest, io)
    case 'gateway':
      return require('./gateway.js').gatewayCommand(rest, io)
    case 'watch':
      return require('./watch.js').watchCommand(rest, io)
    case 'codes':
      return codesCommand(rest, io)
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`)
  }
}

/** Runs the CLI and sets the process exit code. */
function run(argv, io = { stdout: process.stdout, stderr: process.stderr }) {
  native.initLogging()
  const json = argv.includes('--json')
  main(argv, io).then(
    (code) => {
      process.exitCode = code
    },
    (err) => {
      const usage = err instanceof UsageError
      const code = usage ? EXIT.usage : EXIT.internal
      const message = usage ? err.message : `internal error: ${err && err.stack ? err.stack : err}`
      if (json) io.stdout.write(`${JSON.stringify(scrub({ ok: false, exitCode: code, class: usage ? 'usage' : 'internal', failure: { class: usage ? 'usage' : 'internal', message } }))}\n`)
      io.stderr.write(`clawsock: ${scrub(message)}\n`)
      if (usage) io.stderr.write('Run clawsock --help for usage.\n')
      process.exitCode = code
    },
  )
}

module.exports = { run, main }
