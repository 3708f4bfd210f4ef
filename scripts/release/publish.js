#!/usr/bin/env node
'use strict'
// Packs and publishes the platform packages, then the main package: the release workflow's
// publish step, and what __test__/package.test.js runs against a local registry.
//
//   node scripts/release/publish.js [--artifacts DIR] [--registry URL] [--userconfig FILE]
//        [--provenance] [--tag next] [--only linux-x64-gnu,...] [--pack-only] [--out DIR]
//
// For every napi target it finds clawsock.<platform>.node (in --artifacts DIR, searched
// recursively, as actions/download-artifact lays them out; else in npm/<platform>/ or the
// repo root), copies it into npm/<platform>/, runs `npm pack` there, and `npm publish`es the
// tarball. Without --only every target's binary must exist (a release never ships partial).
// The main package is packed from the repo root (package.json `files`; no .node inside) and
// published last, so a user who sees the new main version can always get its binaries.
// Versions must already be in sync (scripts/release/sync-versions.js --check).
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { ROOT, targets, rootPackage } = require('./targets.js')

function parse(argv) {
  const o = { provenance: false, packOnly: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const v = () => argv[++i]
    if (a === '--artifacts') o.artifacts = path.resolve(v())
    else if (a === '--registry') o.registry = v()
    else if (a === '--userconfig') o.userconfig = path.resolve(v())
    else if (a === '--provenance') o.provenance = true
    else if (a === '--tag') o.tag = v()
    else if (a === '--only') o.only = v().split(',').filter(Boolean)
    else if (a === '--pack-only') o.packOnly = true
    else if (a === '--out') o.out = path.resolve(v())
    else throw new Error(`publish.js: unknown argument ${a}`)
  }
  return o
}

function findFile(dir, name) {
  if (!dir || !fs.existsSync(dir)) return null
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isFile() && e.name === name) return p
    if (e.isDirectory()) {
      const r = findFile(p, name)
      if (r) return r
    }
  }
  return null
}

function npm(args, cwd, o) {
  const extra = []
  if (o.registry) extra.push('--registry', o.registry)
  if (o.userconfig) extra.push('--userconfig', o.userconfig)
  return execFileSync('npm', [...args, ...extra, '--no-update-notifier', '--loglevel=warn'], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' },
  })
}

function pack(dir, out, o) {
  const json = JSON.parse(npm(['pack', '--json', '--pack-destination', out], dir, o))
  return { tarball: path.join(out, json[0].filename), files: json[0].files.map((f) => f.path), size: json[0].size }
}

function publishTarball(tgz, o) {
  const args = ['publish', tgz, '--access', 'public']
  if (o.provenance) args.push('--provenance')
  if (o.tag) args.push('--tag', o.tag)
  npm(args, ROOT, o)
}

function main(argv) {
  const o = parse(argv)
  execFileSync(process.execPath, [path.join(__dirname, 'sync-versions.js'), '--check'], { stdio: ['ignore', process.stderr, 'inherit'] })
  const pkg = rootPackage()
  const out = o.out || fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-pack-'))
  fs.mkdirSync(out, { recursive: true })
  const all = targets(pkg)
  const chosen = o.only ? all.filter((t) => o.only.includes(t.suffix)) : all
  if (o.only && chosen.length !== o.only.length) throw new Error(`publish.js: unknown platform in --only ${o.only}`)
  const result = { version: pkg.version, platforms: [], main: null }
  for (const t of chosen) {
    const src = findFile(o.artifacts, t.binary) || [path.join(t.dir, t.binary), path.join(ROOT, t.binary)].find((p) => fs.existsSync(p))
    if (!src) throw new Error(`publish.js: no ${t.binary} (looked in ${o.artifacts || '-'}, npm/${t.suffix}/, repo root)`)
    const dest = path.join(t.dir, t.binary)
    if (path.resolve(src) !== dest) fs.copyFileSync(src, dest)
    const p = pack(t.dir, out, o)
    if (p.files.length !== 3 || !p.files.includes(t.binary)) {
      // package.json, README.md and the binary: nothing else may ship.
      throw new Error(`publish.js: ${t.name} would ship ${p.files.join(', ')}`)
    }
    if (!o.packOnly) publishTarball(p.tarball, o)
    result.platforms.push({ name: t.name, ...p })
  }
  const m = pack(ROOT, out, o)
  const stray = m.files.filter((f) => f.endsWith('.node'))
  if (stray.length) throw new Error(`publish.js: the main package would ship binaries: ${stray.join(', ')}`)
  if (!o.packOnly) publishTarball(m.tarball, o)
  result.main = { name: pkg.name, ...m }
  console.log(JSON.stringify(result, null, 2))
}

if (require.main === module) {
  try {
    main(process.argv.slice(2))
  } catch (e) {
    console.error(e.message)
    process.exit(1)
  }
}
