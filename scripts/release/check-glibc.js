#!/usr/bin/env node
'use strict'
// Reports what a Linux .node file needs from the C library: the highest GLIBC_x.y symbol
// version it references (readelf, falling back to objdump), its DT_NEEDED libraries and
// its size. With --max X.Y it fails when the binary needs a newer glibc than X.Y.
//
//   node scripts/release/check-glibc.js [file.node] [--max 2.17] [--json]
//
// Default file: clawsock.linux-x64-gnu.node in the repo root.
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

const ROOT = path.resolve(__dirname, '..', '..')

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 })
  } catch {
    return null
  }
}

function cmpVersion(a, b) {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] || 0) - (pb[i] || 0)
    if (d) return d
  }
  return 0
}

function inspect(file) {
  const text = run('readelf', ['-V', '-W', '-d', file]) || run('objdump', ['-T', '-p', file])
  if (text == null) throw new Error('check-glibc: neither readelf nor objdump worked on ' + file)
  const versions = [...new Set([...text.matchAll(/GLIBC_(\d+(?:\.\d+)+)/g)].map((m) => m[1]))].sort(cmpVersion)
  const needed = [...new Set([...text.matchAll(/(?:NEEDED\)?\s+(?:Shared library: \[)?)([\w.+-]+\.so[\w.]*)/g)].map((m) => m[1]))]
  // Which symbols need the highest version (useful when it is too high).
  const syms = run('objdump', ['-T', file]) || ''
  const max = versions[versions.length - 1] || null
  const atMax = max
    ? [...new Set(syms.split('\n').filter((l) => l.includes(`GLIBC_${max} `) || l.includes(`(GLIBC_${max})`)).map((l) => l.trim().split(/\s+/).pop()))]
    : []
  return { file, size: fs.statSync(file).size, maxGlibc: max, glibcVersions: versions, needed, symbolsAtMax: atMax }
}

function main(argv) {
  const json = argv.includes('--json')
  const maxIdx = argv.indexOf('--max')
  const limit = maxIdx >= 0 ? argv[maxIdx + 1] : null
  const positional = argv.filter((a, i) => !a.startsWith('--') && !(maxIdx >= 0 && i === maxIdx + 1))
  const file = path.resolve(positional[0] || path.join(ROOT, 'clawsock.linux-x64-gnu.node'))
  const r = inspect(file)
  if (json) console.log(JSON.stringify(r, null, 2))
  else {
    console.log(`${path.relative(process.cwd(), r.file) || r.file}: ${r.size} bytes (${(r.size / 1048576).toFixed(2)} MiB)`)
    console.log(`  highest GLIBC symbol version: ${r.maxGlibc || 'none'}${r.symbolsAtMax.length ? ` (${r.symbolsAtMax.slice(0, 8).join(', ')})` : ''}`)
    console.log(`  all GLIBC versions: ${r.glibcVersions.join(' ')}`)
    console.log(`  NEEDED: ${r.needed.join(' ')}`)
  }
  if (limit && r.maxGlibc && cmpVersion(r.maxGlibc, limit) > 0) {
    console.error(`check-glibc: ${file} needs GLIBC_${r.maxGlibc}, newer than the baseline ${limit}`)
    process.exit(1)
  }
}

if (require.main === module) main(process.argv.slice(2))
module.exports = { inspect, cmpVersion }
