'use strict'
// Small helpers shared by the test files: waiting on events (never on time),
// a port where nothing listens, and running a child process to completion.

const { spawn } = require('node:child_process')
const net = require('node:net')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..')

/** Resolves with the first `type` event of `target` (EventTarget or emitter). */
function once(target, type) {
  return new Promise((resolve) => {
    if (typeof target.addEventListener === 'function') target.addEventListener(type, resolve, { once: true })
    else target.once(type, resolve)
  })
}

/** Collects the events of a WebSocket in order, until `close`. */
function record(ws) {
  const log = []
  const done = new Promise((resolve) => {
    for (const type of ['open', 'message', 'error', 'close']) {
      ws.addEventListener(type, (e) => {
        log.push(e)
        if (type === 'close') resolve(log)
      })
    }
  })
  return { log, done }
}

/** Runs Node with `args` (cwd: repo root) and resolves with { code, signal, stdout, stderr }. */
function runProcess(args, { env = {}, execPath = process.execPath } = {}) {
  const childEnv = { ...process.env, ...env }
  for (const k of Object.keys(childEnv)) if (childEnv[k] === null) delete childEnv[k] // null: unset
  return new Promise((resolve, reject) => {
    const child = spawn(execPath, args, {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** A loopback port with nothing listening on it (connections are refused). */
async function deadPort() {
  const s = net.createServer()
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address()
  await new Promise((resolve) => s.close(resolve))
  return port
}

/** Runs `node -e script` (cwd: repo root). */
function runNode(script, opts) {
  return runProcess(['-e', script], opts)
}

module.exports = { ROOT, deadPort, once, record, runNode, runProcess }
