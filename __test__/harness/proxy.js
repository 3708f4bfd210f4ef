'use strict'
// A real forward proxy for the tests: proxy.py (PyPI `proxy.py`, pinned in
// __test__/peers/requirements-proxy.txt, installed into .cache/py-proxy by
// scripts/setup-python.sh). It listens on 127.0.0.1 on a port it picks
// (--port 0) and writes that port to a file; start() waits for the file.
//
//   const proxy = await startProxy({ auth: 'user:pass', tls: { certPath, keyPath }, logLevel: 'DEBUG' })
//   proxy.log()          // its log; at DEBUG each tunnel shows as 'Connecting to upstream HOST:PORT'
//                        // when it opens (the INFO access line comes only when it closes)
//   proxy.url            // 'http://127.0.0.1:PORT' or 'https://...'
//   await proxy.stop()

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..', '..')
const BIN = path.join(ROOT, '.cache', 'py-proxy', 'bin', 'proxy')

function waitForFile(dir, name, child) {
  return new Promise((resolve, reject) => {
    const file = path.join(dir, name)
    let done = false
    const finish = (err) => {
      if (done) return
      done = true
      watcher.close()
      child.off('exit', onExit)
      if (err) reject(err)
      else resolve(fs.readFileSync(file, 'utf8').trim())
    }
    const check = () => {
      try {
        if (fs.readFileSync(file, 'utf8').trim()) finish()
      } catch {}
    }
    const onExit = (code) => finish(new Error(`proxy.py exited with code ${code} before it listened`))
    const watcher = fs.watch(dir, check)
    child.on('exit', onExit)
    check()
  })
}

async function startProxy({ auth, tls, logLevel } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run bash scripts/setup-python.sh`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-proxy-'))
  const args = ['--hostname', '127.0.0.1', '--port', '0', '--port-file', path.join(dir, 'port'),
    '--num-workers', '1', '--num-acceptors', '1', '--log-file', path.join(dir, 'log')]
  if (auth) args.push('--basic-auth', auth)
  if (logLevel) args.push('--log-level', logLevel)
  if (tls) args.push('--cert-file', tls.certPath, '--key-file', tls.keyPath)
  const child = spawn(BIN, args, { cwd: dir, stdio: 'ignore' })
  const port = Number(await waitForFile(dir, 'port', child))
  const scheme = tls ? 'https' : 'http'
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    /** The proxy.py log so far. */
    log: () => { try { return fs.readFileSync(path.join(dir, 'log'), 'utf8') } catch { return '' } },
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once('exit', () => {
        fs.rmSync(dir, { recursive: true, force: true })
        resolve()
      })
      child.kill('SIGTERM')
    }),
  }
}

module.exports = { startProxy }
