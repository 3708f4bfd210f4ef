// The platform loader for clawsock's native addon (napi-rs convention).
//
// It looks for, in order:
//   1. NAPI_RS_NATIVE_LIBRARY_PATH (an explicit path, for debugging);
//   2. ./clawsock.<platform>.node next to this file (a local build);
//   3. the npm package clawsock-<platform> (installed as an optionalDependency).
// When none loads, it throws one error that names the platform, the package
// it looked for, and what to do.
'use strict'

const { readFileSync } = require('node:fs')
const { join } = require('node:path')

function isMusl() {
  if (process.platform !== 'linux') return false
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl')
  } catch {}
  try {
    const report = process.report && process.report.getReport()
    const header = report && (typeof report === 'string' ? JSON.parse(report) : report).header
    if (header && header.glibcVersionRuntime) return false
    return Array.isArray(report && report.sharedObjects) && report.sharedObjects.some((f) => f.includes('musl'))
  } catch {}
  return false
}

function platformTriple() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  if (platform === 'darwin') return `darwin-${arch}`
  return `${platform}-${arch}`
}

const SUPPORTED = [
  'linux-x64-gnu', 'linux-x64-musl', 'linux-arm64-gnu', 'linux-arm64-musl',
  'darwin-x64', 'darwin-arm64', 'win32-x64-msvc', 'win32-arm64-msvc',
]

function load() {
  const triple = platformTriple()
  const pkg = `clawsock-${triple}`
  const errors = []
  const candidates = []
  if (process.env.NAPI_RS_NATIVE_LIBRARY_PATH) candidates.push(process.env.NAPI_RS_NATIVE_LIBRARY_PATH)
  candidates.push(join(__dirname, `clawsock.${triple}.node`))
  candidates.push(pkg)
  for (const c of candidates) {
    try {
      return require(c)
    } catch (e) {
      errors.push(`  ${c}: ${String(e && e.message).split('\n')[0]}`)
    }
  }
  const help = SUPPORTED.includes(triple)
    ? `The package ${pkg} should have been installed as an optional dependency of clawsock. ` +
      `Install it explicitly (npm install ${pkg}@${require('./package.json').version}), ` +
      `or, in an OpenClaw plugin, list it in openclaw.install.requiredPlatformPackages. ` +
      `If you installed with --omit=optional or copied node_modules from another machine, reinstall on this machine.`
    : `clawsock ships no prebuilt binary for ${triple}. Supported: ${SUPPORTED.join(', ')}. ` +
      `Build from source with: npm run build (needs a Rust toolchain).`
  const err = new Error(
    `clawsock: no native binary for this platform (${triple}, Node ${process.version}).\n` +
      `Looked for the package ${pkg}.\n${help}\nTried:\n${errors.join('\n')}`,
  )
  err.code = 'CLAWSOCK_NO_BINARY'
  throw err
}

module.exports = load()
