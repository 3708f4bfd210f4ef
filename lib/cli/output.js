'use strict'
// Output for the clawsock CLI: human lines or one JSON object per run,
// with every secret scrubbed on the way out (a last line of defence: the
// native side never reports header values, and the gateway client never
// hands tokens to JS).

const { X509Certificate } = require('node:crypto')
const native = require('../../native.js')

const REDACTED = '<redacted>'
const SECRET_KEY = /token|password|secret|privatekey|private_key|apikey|api_key|authorization|cookie/i

/** Exit codes by class name ('ok', 'usage', 'dns', …), from the Rust table. */
const EXIT = Object.freeze(Object.fromEntries(native.exitCodeTable().map((e) => [e.class, e.code])))

function fmtMs(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '?'
  if (ms < 10) return `${ms.toFixed(1)} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  return `${(ms / 1000).toFixed(2)} s`
}

/** Facts about a DER certificate (base64), via Node's X509Certificate. */
function certFacts(b64) {
  try {
    const c = new X509Certificate(Buffer.from(b64, 'base64'))
    const validTo = new Date(c.validTo)
    const daysLeft = Math.floor((validTo.getTime() - Date.now()) / 86_400_000)
    return {
      subject: c.subject.replace(/\n/g, ', '),
      issuer: c.issuer.replace(/\n/g, ', '),
      subjectAltName: c.subjectAltName || null,
      validFrom: new Date(c.validFrom).toISOString(),
      validTo: validTo.toISOString(),
      daysLeft,
      selfSigned: c.subject === c.issuer,
      fingerprint256: c.fingerprint256,
    }
  } catch (err) {
    return { error: `the certificate could not be parsed: ${err.message}` }
  }
}

/**
 * A deep copy of `value` in which secret-named keys are redacted and every
 * string containing one of `secrets` has it replaced.
 */
function scrub(value, secrets = []) {
  const list = secrets.filter((s) => typeof s === 'string' && s.length >= 4)
  const str = (s) => {
    let out = s
    for (const secret of list) out = out.split(secret).join(REDACTED)
    return out
  }
  const walk = (v) => {
    if (typeof v === 'string') return str(v)
    if (Array.isArray(v)) return v.map(walk)
    if (v && typeof v === 'object') {
      const out = {}
      for (const [k, inner] of Object.entries(v)) {
        out[k] = SECRET_KEY.test(k) && inner !== null && inner !== undefined && typeof inner !== 'boolean' ? REDACTED : walk(inner)
      }
      return out
    }
    return v
  }
  return walk(value)
}

/** Writes lines (human mode) or one JSON object (--json), scrubbed. */
class Output {
  constructor({ json = false, stdout = process.stdout, stderr = process.stderr, secrets = [] } = {}) {
    this.json = json
    this.stdout = stdout
    this.stderr = stderr
    this.secrets = secrets
  }

  /** A line for humans (ignored in --json mode). */
  line(text = '') {
    if (!this.json) this.stdout.write(`${scrub(String(text), this.secrets)}\n`)
  }

  /** A note on stderr (both modes). */
  note(text) {
    this.stderr.write(`${scrub(String(text), this.secrets)}\n`)
  }

  /** The one JSON object of a --json run. */
  result(obj) {
    if (this.json) this.stdout.write(`${JSON.stringify(scrub(obj, this.secrets))}\n`)
  }
}

module.exports = { EXIT, fmtMs, certFacts, scrub, Output, native }
