'use strict';
// Throwaway PKI for wss:// tests: a self-signed CA and a server certificate for
// localhost / 127.0.0.1 / ::1 (subjectAltName), signed by that CA. Uses the `openssl`
// CLI (Debian package: openssl).
//
//   const { makeTestPki } = require('./harness/tls');
//   const pki = makeTestPki();   // { caPem, certPem, keyPem, caPath, certPath, keyPath, dir, cleanup }
//   startFaultServer({ tls: { cert: pki.certPem, key: pki.keyPem } })
//   // client side: trust pki.caPem (or NODE_EXTRA_CA_CERTS=pki.caPath for a child process)

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function openssl(args, cwd) {
  try {
    return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (err.code === 'ENOENT') {
      throw new Error('tls.js: the `openssl` CLI is not installed (Debian: apt-get install openssl)');
    }
    throw new Error(`openssl ${args.join(' ')} failed: ${err.stderr || err.message}`);
  }
}

let cached = null;

function makeTestPki({ dir, days = 30, cache = true } = {}) {
  if (cache && !dir && cached && fs.existsSync(cached.caPath)) return cached;
  const d = dir || fs.mkdtempSync(path.join(os.tmpdir(), 'clawsock-pki-'));
  fs.mkdirSync(d, { recursive: true });
  const p = (f) => path.join(d, f);

  // CA
  // P-256 keys: much faster to generate than RSA; rustls, OpenSSL and Node all accept them.
  const keyArgs = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  openssl(['req', '-x509', '-new', ...keyArgs, '-nodes', '-sha256', '-days', String(days),
    '-subj', '/CN=clawsock test CA', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], d);
  // server key + CSR
  openssl(['req', '-new', ...keyArgs, '-nodes', '-sha256',
    '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'], d);
  fs.writeFileSync(p('server.ext'), [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
    '',
  ].join('\n'));
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-sha256', '-days', String(days), '-extfile', 'server.ext', '-out', 'server.pem'], d);

  const result = {
    dir: d,
    caPath: p('ca.pem'),
    certPath: p('server.pem'),
    keyPath: p('server.key'),
    caPem: fs.readFileSync(p('ca.pem'), 'utf8'),
    certPem: fs.readFileSync(p('server.pem'), 'utf8'),
    keyPem: fs.readFileSync(p('server.key'), 'utf8'),
    cleanup() { fs.rmSync(d, { recursive: true, force: true }); if (cached === result) cached = null; },
  };
  if (cache && !dir) {
    cached = result;
    process.once('exit', () => { try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* ignore */ } });
  }
  return result;
}

module.exports = { makeTestPki, makeCerts: makeTestPki };
