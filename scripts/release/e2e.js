'use strict'
// Helpers for the publish -> install proof (__test__/package.test.js, `npm run e2e`):
//   startRegistry()       a verdaccio on 127.0.0.1 in a temp dir, no uplinks, with a user and
//                         an npmrc (registry + token) for publishing and installing
//   publishRelease(reg)   scripts/release/publish.js against it (the release workflow's step)
//   installLikeOpenClaw() OpenClaw's exact npm command in a fresh plugin dir, timed
//   findPackages(dir, n)  every node_modules/**/<n> in a tree
// CommonJS, no dependencies; verdaccio itself comes from scripts/release/setup-tools.sh.
const fs = require('node:fs')
const os = require('node:os')
const net = require('node:net')
const path = require('node:path')
const { spawn, execFileSync, execFile } = require('node:child_process')

const ROOT = path.resolve(__dirname, '..', '..')
const CACHE = process.env.CLAWSOCK_CACHE_DIR || path.join(ROOT, '.cache')
const VERDACCIO = path.join(CACHE, 'release-tools', 'node_modules', 'verdaccio', 'bin', 'verdaccio')
// OpenClaw 2026.9.6's npm plugin install (docs/plugins/dependency-resolution.md).
const OPENCLAW_NPM_INSTALL = ['install', '--omit=dev', '--omit=peer', '--legacy-peer-deps', '--ignore-scripts', '--no-audit', '--no-fund']

function ensureTools() {
  if (!fs.existsSync(VERDACCIO)) execFileSync('bash', [path.join(__dirname, 'setup-tools.sh')], { stdio: ['ignore', 'inherit', 'inherit'] })
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function startRegistry({ readyTimeoutMs = 60_000 } = {}) {
  ensureTools()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-registry-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}/`
  const config = path.join(dir, 'config.yaml')
  fs.writeFileSync(
    config,
    [
      `storage: ${path.join(dir, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${path.join(dir, 'htpasswd')}`,
      '    max_users: 10',
      'uplinks: {}', // nothing is proxied: every package must come from this registry
      'packages:',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      '    unpublish: $authenticated',
      'web:',
      '  enable: false',
      'middlewares:',
      '  audit:',
      '    enabled: false',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  )
  const logPath = path.join(dir, 'verdaccio.log')
  const fd = fs.openSync(logPath, 'a')
  // verdaccio 6 needs Node >= 22; the test may run on Node 20.
  const nodeForRegistry = Number(process.versions.node.split('.')[0]) >= 22
    ? process.execPath
    : require(path.join(ROOT, '__test__', 'harness', 'node-versions.js')).nodeBinary(24)
  const child = spawn(nodeForRegistry, [VERDACCIO, '--config', config, '--listen', `127.0.0.1:${port}`], {
    cwd: dir,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  fs.closeSync(fd)
  const killer = () => { try { child.kill('SIGKILL') } catch {} }
  process.on('exit', killer)
  const deadline = Date.now() + readyTimeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited: ${fs.readFileSync(logPath, 'utf8')}`)
    try {
      const r = await fetch(`${url}-/ping`)
      if (r.ok) break
    } catch {}
    if (Date.now() > deadline) { killer(); throw new Error(`verdaccio not ready: ${fs.readFileSync(logPath, 'utf8')}`) }
    await new Promise((r) => setTimeout(r, 100)) // poll interval
  }
  // A user (htpasswd self-registration) and an npmrc with its token.
  const res = await fetch(`${url}-/user/org.couchdb.user:clawsock-ci`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'clawsock-ci', password: 'clawsock-ci-password', type: 'user', roles: [] }),
  })
  const body = await res.json()
  if (!body.token) throw new Error(`verdaccio adduser failed: ${res.status} ${JSON.stringify(body)}`)
  const npmrc = path.join(dir, 'npmrc')
  fs.writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${body.token}\n`)
  return {
    url,
    port,
    dir,
    npmrc,
    logPath,
    /** env for npm (and for OpenClaw, which runs npm) so it uses only this registry. */
    env(extra = {}) {
      return { ...process.env, npm_config_userconfig: npmrc, npm_config_registry: url, npm_config_update_notifier: 'false', ...extra }
    },
    async stop() {
      process.off('exit', killer)
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        const t = setTimeout(killer, 5000)
        await done
        clearTimeout(t)
      }
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Publishes like the release workflow: the real linux-x64-gnu binary, and (so that the main
 * package's optionalDependencies all resolve, as after a real release) the other seven
 * platform packages with a placeholder file in place of their binary: npm must skip them by
 * os/cpu/libc, so the placeholder is never installed, let alone loaded.
 */
function publishRelease(reg, { binary = path.join(ROOT, 'clawsock.linux-x64-gnu.node'), placeholders = true } = {}) {
  const { targets } = require('./targets.js')
  const art = fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-artifacts-'))
  const only = []
  for (const t of targets()) {
    if (t.suffix === 'linux-x64-gnu') fs.copyFileSync(binary, path.join(art, t.binary))
    else if (placeholders) fs.writeFileSync(path.join(art, t.binary), `placeholder for ${t.triple}: not a real addon\n`)
    else continue
    only.push(t.suffix)
  }
  const out = path.join(art, 'tarballs')
  const stdout = execFileSync(
    process.execPath,
    [path.join(__dirname, 'publish.js'), '--artifacts', art, '--only', only.join(','), '--registry', reg.url, '--userconfig', reg.npmrc, '--out', out],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: reg.env() },
  )
  // Do not leave placeholders in npm/<platform>/ (publish.js copies binaries there).
  for (const t of targets()) if (t.suffix !== 'linux-x64-gnu') fs.rmSync(path.join(t.dir, t.binary), { force: true })
  return { ...JSON.parse(stdout), tarballs: out }
}

/**
 * A fresh plugin dir with `package.json` (deps), then OpenClaw's npm install in it with a cold
 * npm cache. Resolves { dir, ms, stdout, stderr }.
 */
function installLikeOpenClaw(reg, { dependencies, nodeBin = process.execPath, dir } = {}) {
  dir = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-plugin-'))
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'fresh-plugin', version: '0.0.0', private: true, type: 'module', dependencies }, null, 2) + '\n',
  )
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-npm-cache-'))
  const env = reg.env({ npm_config_cache: cacheDir, PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env.PATH}` })
  delete env.NODE_OPTIONS
  delete env.NODE_TEST_CONTEXT
  const t0 = process.hrtime.bigint()
  return new Promise((resolve, reject) => {
    execFile('npm', OPENCLAW_NPM_INSTALL, { cwd: dir, env, timeout: 300_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      fs.rmSync(cacheDir, { recursive: true, force: true })
      if (err) reject(new Error(`npm ${OPENCLAW_NPM_INSTALL.join(' ')} failed in ${dir}: ${stderr || err.message}`))
      else resolve({ dir, ms, stdout, stderr })
    })
  })
}

/** Every directory node_modules/.../<name> (with a package.json of that name) under dir. */
function findPackages(dir, name) {
  const hits = []
  const walk = (d) => {
    let entries
    try { entries = fs.readdirSync(d, { withFileTypes: true }) } catch { return }
    for (const e of entries) {
      if (!e.isDirectory()) continue
      const p = path.join(d, e.name)
      if (path.basename(d) === 'node_modules' || path.basename(path.dirname(d)) === 'node_modules') {
        if (e.name === name) {
          try { if (JSON.parse(fs.readFileSync(path.join(p, 'package.json'), 'utf8')).name === name) hits.push(p) } catch {}
        }
      }
      walk(p)
    }
  }
  walk(dir)
  return hits
}

module.exports = { startRegistry, publishRelease, installLikeOpenClaw, findPackages, OPENCLAW_NPM_INSTALL, ensureTools }
