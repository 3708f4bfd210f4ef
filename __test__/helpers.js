'use strict'
// Small helpers shared by the test files: waiting on events (never on time),
// and running a child process to completion.

const { spawn } = require('node:child_process')
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

/** Runs `node -e script` (cwd: repo root) and resolves with { code, stdout, stderr }. */
function runNode(script, { env = {}, execPath = process.execPath } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(execPath, ['-e', script], {
      cwd: ROOT,
      env: { ...process.env, ...env },
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

module.exports = { ROOT, once, record, runNode }
