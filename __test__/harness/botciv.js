'use strict';
// Spawns __test__/peers/botciv_server.py (FastAPI on uvicorn) from one of the venvs that
// scripts/setup-python.sh makes, and waits for its "BOTCIV_READY port=N ..." line.
//
//   const { startBotciv } = require('./harness/botciv');
//   const srv = await startBotciv({ uvicorn: 'old' });   // 'new' (default) | 'old'
//   srv.url            // 'ws://127.0.0.1:P'    -> connect to `${srv.url}/ws/<agent>`
//   srv.httpUrl        // 'http://127.0.0.1:P'
//   await srv.stats()  // { agents: { id: { accepted, open, messages, closes } } }
//   await srv.waitFor('1', { open: 1, messages: 2 })   // long-poll until true
//   await srv.closeAgent('1', 4000, 'bye')
//   await srv.restart() // stop, then start again on the same port
//   await srv.stop()
//
// Options: { uvicorn: 'new'|'old', ws: 'auto'|'websockets-sansio'|'wsproto', port, python, logLevel }
// Env: CLAWSOCK_PY_NEW / CLAWSOCK_PY_OLD override the python executables.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const SERVER = path.join(ROOT, '__test__', 'peers', 'botciv_server.py');

function pythonFor(which) {
  const env = which === 'old' ? process.env.CLAWSOCK_PY_OLD : process.env.CLAWSOCK_PY_NEW;
  if (env) return env;
  return path.join(ROOT, '.cache', `py-uvicorn-${which}`, 'bin', 'python');
}

// Every child we spawn, so that nothing outlives the test process.
const live = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const child of live) {
      try { child.kill('SIGKILL'); } catch { /* already gone */ }
    }
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => { killAll(); process.kill(process.pid, sig); });
  }
  // Last line of defence (SIGKILL of the test process, where no hook runs): the child is
  // started with --exit-on-stdin-eof and a stdin pipe, and exits when that pipe closes.
}

function spawnServer({ python, port, ws, logLevel }) {
  if (!fs.existsSync(python)) {
    throw new Error(`botciv: ${python} not found; run scripts/setup-python.sh first`);
  }
  installExitHook();
  const args = [SERVER, '--port', String(port), '--ws', ws, '--log-level', logLevel, '--exit-on-stdin-eof'];
  const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  live.add(child);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => { live.delete(child); resolve({ code, signal }); }));
  child.stdin.on('error', () => {});
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 64 * 1024) stderr = stderr.slice(-32 * 1024);
    if (process.env.CLAWSOCK_PEER_LOG) process.stderr.write(`[botciv] ${d}`);
  });

  const ready = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    const onData = (d) => {
      out += d;
      const m = /^BOTCIV_READY port=(\d+) uvicorn=(\S+) ws=(\S+) pid=(\d+)$/m.exec(out);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve({ port: Number(m[1]), uvicornVersion: m[2], wsImpl: m[3] });
      }
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    exited.then(({ code, signal }) =>
      reject(new Error(`botciv server exited before ready (code=${code} signal=${signal})\n${stderr}`)));
  });
  return { child, exited, ready, stderr: () => stderr };
}

async function startBotciv(opts = {}) {
  const which = opts.uvicorn || 'new';
  if (which !== 'new' && which !== 'old') throw new Error(`botciv: uvicorn must be 'new' or 'old', got ${which}`);
  const python = opts.python || pythonFor(which);
  const ws = opts.ws || 'auto';
  const logLevel = opts.logLevel || 'warning';

  let proc = spawnServer({ python, port: opts.port || 0, ws, logLevel });
  const info = await proc.ready;
  const port = info.port;
  const httpUrl = `http://127.0.0.1:${port}`;

  async function stopProc(signal) {
    const p = proc;
    if (!p) return;
    proc = null;
    if (p.child.exitCode === null && p.child.signalCode === null) {
      p.child.kill(signal);
      // Safety net only (a stuck graceful shutdown must not hang the suite); tests do not
      // depend on this delay.
      const t = setTimeout(() => { try { p.child.kill('SIGKILL'); } catch { /* gone */ } }, 10_000);
      await p.exited;
      clearTimeout(t);
    }
  }

  async function http(method, pathAndQuery) {
    const res = await fetch(httpUrl + pathAndQuery, { method });
    const body = await res.json();
    return { status: res.status, body };
  }

  const handle = {
    port,
    url: `ws://127.0.0.1:${port}`,
    httpUrl,
    uvicorn: which,
    uvicornVersion: info.uvicornVersion,
    wsImpl: info.wsImpl,
    get pid() { return proc ? proc.child.pid : null; },
    async stats() {
      const { status, body } = await http('GET', '/stats');
      if (status !== 200) throw new Error(`botciv /stats -> ${status}`);
      return body;
    },
    async agentStats(id) {
      const s = await handle.stats();
      return s.agents[id] || { accepted: 0, open: 0, messages: [], closes: [] };
    },
    // Resolves with the agent's stats once they satisfy `cond` ({ accepted, open, messages,
    // closes }; open must match exactly, the others are minimums). Event-driven long-poll:
    // the server answers when its state changes, no client-side polling or sleeping.
    async waitFor(id, cond = {}, { timeout = 30 } = {}) {
      const q = new URLSearchParams({ timeout: String(timeout) });
      for (const k of ['accepted', 'open', 'messages', 'closes']) {
        if (cond[k] !== undefined) q.set(k, String(cond[k]));
      }
      const { status, body } = await http('GET', `/wait/${encodeURIComponent(id)}?${q}`);
      if (status !== 200) {
        throw new Error(`botciv waitFor(${id}, ${JSON.stringify(cond)}) gave up; stats: ${JSON.stringify(body)}`);
      }
      return body;
    },
    async closeAgent(id, code = 1000, reason = '') {
      const q = new URLSearchParams({ code: String(code), reason });
      const { status, body } = await http('POST', `/close/${encodeURIComponent(id)}?${q}`);
      return { status, ...body };
    },
    async reset() {
      await http('POST', '/reset');
    },
    // Graceful by default (SIGTERM: uvicorn closes open sockets with 1012); 'SIGKILL' = crash.
    async stop({ signal = 'SIGTERM' } = {}) {
      await stopProc(signal);
    },
    async kill() {
      await stopProc('SIGKILL');
    },
    async start() {
      if (proc) return;
      proc = spawnServer({ python, port, ws, logLevel });
      const again = await proc.ready;
      if (again.port !== port) throw new Error(`botciv restarted on ${again.port}, expected ${port}`);
    },
    async restart({ signal = 'SIGTERM' } = {}) {
      await stopProc(signal);
      await handle.start();
    },
    stderr() { return proc ? proc.stderr() : ''; },
  };
  return handle;
}

module.exports = { startBotciv, pythonFor };
