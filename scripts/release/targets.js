'use strict'
// One table for the release tooling: Rust target triple -> npm platform package.
// The suffix (<platform>-<arch>[-<abi>]) is napi-rs's `platformArchABI`, the same
// string native.js computes at run time, so `clawsock-<suffix>` is what it requires.
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..', '..')

const TABLE = {
  'x86_64-unknown-linux-gnu': { suffix: 'linux-x64-gnu', os: 'linux', cpu: 'x64', libc: 'glibc' },
  'x86_64-unknown-linux-musl': { suffix: 'linux-x64-musl', os: 'linux', cpu: 'x64', libc: 'musl' },
  'aarch64-unknown-linux-gnu': { suffix: 'linux-arm64-gnu', os: 'linux', cpu: 'arm64', libc: 'glibc' },
  'aarch64-unknown-linux-musl': { suffix: 'linux-arm64-musl', os: 'linux', cpu: 'arm64', libc: 'musl' },
  'x86_64-apple-darwin': { suffix: 'darwin-x64', os: 'darwin', cpu: 'x64' },
  'aarch64-apple-darwin': { suffix: 'darwin-arm64', os: 'darwin', cpu: 'arm64' },
  'x86_64-pc-windows-msvc': { suffix: 'win32-x64-msvc', os: 'win32', cpu: 'x64' },
  'aarch64-pc-windows-msvc': { suffix: 'win32-arm64-msvc', os: 'win32', cpu: 'arm64' },
}

function rootPackage() {
  return require(path.join(ROOT, 'package.json'))
}

/** [{triple, suffix, os, cpu, libc?, name, dir, binary}] for every napi.targets entry, in order. */
function targets(pkg = rootPackage()) {
  const binaryName = (pkg.napi && pkg.napi.binaryName) || pkg.name
  return pkg.napi.targets.map((triple) => {
    const t = TABLE[triple]
    if (!t) throw new Error(`scripts/release/targets.js: no npm mapping for napi target ${triple}`)
    return {
      triple,
      ...t,
      name: `${pkg.name}-${t.suffix}`,
      dir: path.join(ROOT, 'npm', t.suffix),
      binary: `${binaryName}.${t.suffix}.node`,
    }
  })
}

module.exports = { ROOT, TABLE, targets, rootPackage }
