'use strict'
// A private network namespace for tests that need firewall rules or their
// own name resolution, without touching the machine's loopback or
// /etc/hosts:
//   - `ip netns add` makes a namespace with its own loopback and its own
//     (empty) nftables ruleset; rules go into a table of our own
//     (`inet clawsock_test`) and vanish with the namespace;
//   - `ip netns exec` bind-mounts /etc/netns/<name>/hosts (and gai.conf,
//     for the order getaddrinfo returns addresses in) over /etc's, for the
//     processes it runs only.
// Needs root, `ip` (iproute2) and `nft` (nftables; scripts/setup-netfilter.sh
// installs it). `unavailable()` says why a test must be skipped, or null.

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { runProcess } = require('../helpers.js')

let counter = 0

function which(cmd) {
  for (const dir of (process.env.PATH || '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd)
    if (fs.existsSync(p)) return p
  }
  return null
}

/** Why namespaces cannot be used here (a sentence), or null. */
function unavailable() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (network namespaces and nftables rules)'
  if (!which('ip')) return 'needs `ip` (Debian: iproute2)'
  if (!which('nft')) return 'needs `nft` (run scripts/setup-netfilter.sh, or apt-get install nftables)'
  return null
}

function run(cmd, args, input) {
  return execFileSync(which(cmd), args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString()
}

/**
 * Makes a namespace. `hosts`: /etc/hosts lines for it; `ipv4First`: a
 * gai.conf that sorts IPv4 addresses first; `nft`: rules for the output
 * chain of our table (e.g. 'ip6 daddr ::1 tcp dport 4000 drop').
 */
function createNetns({ hosts = [], ipv4First = false, nft = [] } = {}) {
  const name = `clawsock-t${process.pid}-${++counter}`
  const etc = path.join('/etc/netns', name)
  run('ip', ['netns', 'add', name])
  try {
    fs.mkdirSync(etc, { recursive: true })
    fs.writeFileSync(path.join(etc, 'hosts'), `${hosts.join('\n')}\n`)
    if (ipv4First) fs.writeFileSync(path.join(etc, 'gai.conf'), 'precedence ::ffff:0:0/96 100\n')
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
    const ruleset = [
      'table inet clawsock_test {',
      '  chain out {',
      '    type filter hook output priority 0; policy accept;',
      ...nft.map((r) => `    ${r}`),
      '  }',
      '}',
      '',
    ].join('\n')
    run('ip', ['netns', 'exec', name, which('nft'), '-f', '-'], ruleset)
  } catch (err) {
    destroy(name)
    throw err
  }
  return {
    name,
    /** Runs `node <args>` inside (cwd: repo root); resolves with { code, signal, stdout, stderr }. */
    node: (args, env = {}) => runProcess(['netns', 'exec', name, process.execPath, ...args], { env, execPath: which('ip') }),
    destroy: () => destroy(name),
  }
}

function destroy(name) {
  try { run('ip', ['netns', 'del', name]) } catch {}
  fs.rmSync(path.join('/etc/netns', name), { recursive: true, force: true })
}

module.exports = { createNetns, unavailable }
