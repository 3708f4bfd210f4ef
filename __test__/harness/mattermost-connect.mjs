// Runs the connect routine of the published Mattermost channel plugin
// (@openclaw/mattermost, installed by scripts/setup-openclaw.sh into
// .cache/mattermost) once, with clawsock/ws as its webSocketFactory, and
// prints what happened as one JSON line. Run with Node 24 (OpenClaw's engine).
//
//   node mattermost-connect.mjs <wsUrl> <botToken> [pingIntervalMs] [pongTimeoutMs]
//
// The routine (createMattermostConnectOnce) is internal to the plugin's
// runtime chunk: this loads that chunk unchanged, through a copy in the same
// (git-ignored) directory that adds one export line for it.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'

const require = createRequire(import.meta.url)
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const CACHE = process.env.CLAWSOCK_CACHE_DIR || path.join(ROOT, '.cache')
const DIR = path.join(CACHE, 'mattermost', 'node_modules', '@openclaw', 'mattermost', 'dist', '.setup')
const WebSocket = require('clawsock/ws')

const [wsUrl, botToken, pingIntervalMs, pongTimeoutMs] = process.argv.slice(2)

const chunk = fs.readdirSync(DIR).find((f) => f.endsWith('.mjs') &&
  fs.readFileSync(path.join(DIR, f), 'utf8').includes('function createMattermostConnectOnce('))
if (!chunk) throw new Error(`no chunk with createMattermostConnectOnce in ${DIR}`)
const copy = path.join(DIR, 'clawsock-test-connect-once.mjs')
const text = fs.readFileSync(path.join(DIR, chunk), 'utf8') +
  '\nexport { createMattermostConnectOnce as __clawsockConnectOnce };\n'
if (!fs.existsSync(copy) || fs.readFileSync(copy, 'utf8') !== text) fs.writeFileSync(copy, text)
const { __clawsockConnectOnce: createMattermostConnectOnce } = await import(pathToFileURL(copy).href)

const out = { logs: [], errors: [], statuses: [], posted: [], factory: [] }
let seq = 1
const connectOnce = createMattermostConnectOnce({
  wsUrl,
  botToken,
  runtime: { log: (m) => out.logs.push(m), error: (m) => out.errors.push(m) },
  statusSink: (s) => out.statuses.push(s),
  webSocketFactory: (url, options) => {
    out.factory.push({ url, options })
    return new WebSocket(url, options)
  },
  nextSeq: () => seq++,
  onPosted: async (raw) => { out.posted.push(JSON.parse(raw)) },
  onReaction: async () => {},
  ...(pingIntervalMs ? { pingIntervalMs: Number(pingIntervalMs) } : {}),
  ...(pongTimeoutMs ? { pongTimeoutMs: Number(pongTimeoutMs) } : {}),
})
try {
  await connectOnce()
  out.result = 'resolved'
} catch (err) {
  out.result = 'rejected'
  out.error = { name: err.name, message: err.message, code: err.code }
}
console.log(JSON.stringify(out))
