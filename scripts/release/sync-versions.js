#!/usr/bin/env node
'use strict'
// Keeps the npm platform packages in step with the main package.
//
//   node scripts/release/sync-versions.js           write npm/<platform>/{package.json,README.md}
//                                                    and package.json#optionalDependencies
//   node scripts/release/sync-versions.js --check   exit 1 (and say what differs) if anything is stale
//
// Source of truth: package.json `version`, `napi.targets`, `license`, `engines`, `repository`.
// Every platform package gets os/cpu(/libc), `main` = its .node file and `files` = only it.
// The main package lists all of them as optionalDependencies pinned to the exact version,
// which is what `napi prepublish` would write; we do it here so the repo always shows it.
// Run it after `npm version <x>` (the `release:sync` script) and before publishing.
const fs = require('node:fs')
const path = require('node:path')
const { ROOT, targets, rootPackage } = require('./targets.js')

function platformManifest(pkg, t) {
  const m = {
    name: t.name,
    version: pkg.version,
    description: `The ${t.triple} binary of ${pkg.name} (installed automatically as an optional dependency of ${pkg.name}).`,
    main: t.binary,
    files: [t.binary],
    os: [t.os],
    cpu: [t.cpu],
  }
  if (t.libc) m.libc = [t.libc]
  m.license = pkg.license
  if (pkg.engines) m.engines = pkg.engines
  if (pkg.repository) m.repository = pkg.repository
  m.publishConfig = { access: 'public' }
  return m
}

function platformReadme(pkg, t) {
  return `# \`${t.name}\`

The prebuilt native addon of [\`${pkg.name}\`](https://www.npmjs.com/package/${pkg.name}) for
\`${t.triple}\` (${t.os}/${t.cpu}${t.libc ? `, ${t.libc}` : ''}).

Do not install this package directly: install \`${pkg.name}\`, which lists every platform package
as an optional dependency; npm installs only the one whose \`os\`/\`cpu\`${t.libc ? '/`libc`' : ''} match
this machine, and \`${pkg.name}\` loads it. The package contains one file, \`${t.binary}\`, and has
no dependencies and no install scripts.
`
}

function expected() {
  const pkg = rootPackage()
  const files = new Map() // abs path -> text
  const optional = {}
  for (const t of targets(pkg)) {
    files.set(path.join(t.dir, 'package.json'), JSON.stringify(platformManifest(pkg, t), null, 2) + '\n')
    files.set(path.join(t.dir, 'README.md'), platformReadme(pkg, t))
  }
  // Sorted by name, as npm itself writes dependency maps.
  for (const t of [...targets(pkg)].sort((a, b) => (a.name < b.name ? -1 : 1))) optional[t.name] = pkg.version
  return { pkg, files, optional }
}

function read(p) {
  try {
    return fs.readFileSync(p, 'utf8')
  } catch {
    return null
  }
}

function main(argv) {
  const check = argv.includes('--check')
  const { pkg, files, optional } = expected()
  const stale = []
  for (const [p, text] of files) {
    if (read(p) !== text) {
      stale.push(path.relative(ROOT, p))
      if (!check) {
        fs.mkdirSync(path.dirname(p), { recursive: true })
        fs.writeFileSync(p, text)
      }
    }
  }
  const pkgPath = path.join(ROOT, 'package.json')
  if (JSON.stringify(pkg.optionalDependencies || {}) !== JSON.stringify(optional)) {
    stale.push('package.json#optionalDependencies')
    if (!check) {
      // Re-read the file text so nothing but optionalDependencies changes.
      const current = JSON.parse(fs.readFileSync(pkgPath, 'utf8'))
      current.optionalDependencies = optional
      fs.writeFileSync(pkgPath, JSON.stringify(current, null, 2) + '\n')
    }
  }
  // Directories under npm/ that no target claims (a target was dropped).
  const known = new Set(targets(pkg).map((t) => path.basename(t.dir)))
  const npmDir = path.join(ROOT, 'npm')
  const extra = fs.existsSync(npmDir) ? fs.readdirSync(npmDir).filter((d) => !known.has(d)) : []
  for (const d of extra) stale.push(`npm/${d} (not in napi.targets)`)

  if (check) {
    if (stale.length) {
      console.error(`release: out of sync with package.json ${pkg.version}:\n  ${stale.join('\n  ')}\nrun: npm run release:sync`)
      process.exit(1)
    }
    console.log(`release: ${files.size / 2} platform packages in sync at ${pkg.version}`)
  } else {
    console.log(stale.length ? `release: updated\n  ${stale.join('\n  ')}` : `release: already in sync at ${pkg.version}`)
    if (extra.length) console.error(`release: remove these by hand: ${extra.join(', ')}`)
  }
}

if (require.main === module) main(process.argv.slice(2))
module.exports = { expected, platformManifest }
