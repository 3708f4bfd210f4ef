'use strict'
// A small, strict command-line parser for the clawsock CLI: known options
// only, `--name value` or `--name=value`, repeatable list options, `--` ends
// options. Every mistake is a UsageError (exit code 2) that names the option.

class UsageError extends Error {
  constructor(message) {
    super(message)
    this.name = 'UsageError'
  }
}

/**
 * @param {string[]} argv
 * @param {Record<string, 'bool'|'string'|'list'|'ms'>} spec  option name (without --) → type
 * @param {Record<string, string>} [aliases]  short name → long name (e.g. { h: 'help' })
 * @returns {{ options: Record<string, any>, positionals: string[] }}
 */
function parseArgs(argv, spec, aliases = {}) {
  const options = {}
  const positionals = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    let name
    let inline
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=')
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
      inline = eq === -1 ? undefined : arg.slice(eq + 1)
    } else if (/^-[A-Za-z]$/.test(arg)) {
      name = aliases[arg.slice(1)]
      if (!name) throw new UsageError(`unknown option ${arg}`)
    } else {
      positionals.push(arg)
      continue
    }
    const type = spec[name]
    if (!type) throw new UsageError(`unknown option --${name}`)
    if (type === 'bool') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`)
      options[name] = true
      continue
    }
    let value = inline
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`)
      value = argv[++i]
    }
    if (type === 'ms') {
      const n = Number(value)
      if (value === '' || !Number.isFinite(n) || n < 0) {
        throw new UsageError(`--${name} must be a number of milliseconds (>= 0), got ${JSON.stringify(value)}`)
      }
      options[name] = n
    } else if (type === 'list') {
      ;(options[name] ||= []).push(value)
    } else {
      options[name] = value
    }
  }
  return { options, positionals }
}

/** Parses `--header 'Name: value'` (or `Name=value`) into [name, value]. */
function parseHeader(text) {
  const m = /^\s*([^:=\s]+)\s*[:=]\s?(.*)$/.exec(text)
  if (!m) throw new UsageError(`--header must look like 'Name: value', got a value without ':'`)
  return [m[1], m[2]]
}

/** Checks a ws/wss URL (http/https are accepted and converted). */
function parseWsUrl(text, what = 'URL') {
  if (text === undefined) throw new UsageError(`missing ${what}`)
  let u
  try {
    u = new URL(text)
  } catch {
    throw new UsageError(`${what} ${JSON.stringify(text)} is not a valid URL (expected ws://host:port/path or wss://…)`)
  }
  if (u.protocol === 'http:') u.protocol = 'ws:'
  else if (u.protocol === 'https:') u.protocol = 'wss:'
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw new UsageError(`${what} must start with ws:// or wss://, not ${u.protocol}//`)
  }
  return u.href
}

/**
 * `--proxy <url|env|off>` as the `proxy` option (undefined when absent);
 * a bad URL is a UsageError that never shows the URL's credentials.
 */
function parseProxyArg(value) {
  if (value === undefined) return undefined
  const proxy = value === 'off' ? false : value
  const { networkOptions } = require('../network.js')
  try {
    networkOptions({ proxy }, (name, message) => new UsageError(`--proxy ${message}`))
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw new UsageError(err.message.replace(/^clawsock: option 'proxy'/, '--proxy').replace(/^clawsock: /, '--proxy: '))
  }
  return proxy
}

module.exports = { parseProxyArg, UsageError, parseArgs, parseHeader, parseWsUrl }
