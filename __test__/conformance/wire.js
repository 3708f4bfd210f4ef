'use strict'
// The bytes on the wire for the conformance server (RFC 6455 §5.2): server
// frames built by hand (any opcode, RSV bits, FIN, length), a parser for the
// client's masked frames, and the server's side of the opening handshake.

const crypto = require('node:crypto')

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** A Buffer from a string (UTF-8), a Buffer, or nothing. */
function bytes(payload) {
  if (payload === undefined || payload === null) return Buffer.alloc(0)
  return Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8')
}

/**
 * One server frame (unmasked unless `mask` is set). `len` overrides the
 * length field (for frames whose header lies about their payload).
 */
function encodeFrame({ opcode, payload, fin = true, rsv = 0, mask = false, len }) {
  const body = bytes(payload)
  const n = len === undefined ? body.length : len
  const b0 = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f)
  let head
  if (n < 126) head = Buffer.from([b0, n])
  else if (n < 65536) {
    head = Buffer.from([b0, 126, 0, 0])
    head.writeUInt16BE(n, 2)
  } else {
    head = Buffer.alloc(10)
    head[0] = b0
    head[1] = 127
    head.writeBigUInt64BE(BigInt(n), 2)
  }
  if (!mask) return Buffer.concat([head, body])
  head[1] |= 0x80
  const key = crypto.randomBytes(4)
  const masked = Buffer.from(body)
  for (let i = 0; i < masked.length; i++) masked[i] ^= key[i & 3]
  return Buffer.concat([head, key, masked])
}

/** A close frame's payload: code (optional) and reason (string or Buffer). */
function closePayload(code, reason) {
  if (code === undefined || code === null) return Buffer.alloc(0)
  const c = Buffer.alloc(2)
  c.writeUInt16BE(code, 0)
  return Buffer.concat([c, bytes(reason)])
}

/**
 * Parses the client's frames out of `buf`. Returns { frames, rest, error }:
 * each frame { fin, rsv, opcode, payload } (unmasked), the bytes of an
 * incomplete frame, and a protocol error of the client (an unmasked frame).
 */
function parseClientFrames(buf) {
  const frames = []
  let at = 0
  while (buf.length - at >= 2) {
    const b0 = buf[at]
    const b1 = buf[at + 1]
    let len = b1 & 0x7f
    let off = at + 2
    if (len === 126) {
      if (buf.length - at < 4) break
      len = buf.readUInt16BE(at + 2)
      off = at + 4
    } else if (len === 127) {
      if (buf.length - at < 10) break
      len = Number(buf.readBigUInt64BE(at + 2))
      off = at + 10
    }
    const masked = (b1 & 0x80) !== 0
    if (!masked) return { frames, rest: Buffer.alloc(0), error: 'the client sent an unmasked frame' }
    if (buf.length - off < 4 + len) break
    const key = buf.subarray(off, off + 4)
    const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len))
    for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3]
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, payload })
    at = off + 4 + len
  }
  return { frames, rest: buf.subarray(at), error: null }
}

/**
 * Checks the client's upgrade request head (RFC 6455 §4.1) and returns
 * { path, key, problem }: `problem` names the first rule it breaks.
 */
function parseRequest(head) {
  const lines = head.toString('latin1').split('\r\n')
  const [method, path, version] = lines[0].split(' ')
  const headers = {}
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':')
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
  }
  const key = headers['sec-websocket-key'] || ''
  let problem = null
  if (method !== 'GET' || version !== 'HTTP/1.1') problem = `request line ${JSON.stringify(lines[0])}`
  else if (!/\bwebsocket\b/i.test(headers.upgrade || '')) problem = 'no "Upgrade: websocket"'
  else if (!/\bupgrade\b/i.test(headers.connection || '')) problem = 'no "Connection: Upgrade"'
  else if (headers['sec-websocket-version'] !== '13') problem = 'no "Sec-WebSocket-Version: 13"'
  else if (Buffer.from(key, 'base64').length !== 16) problem = `Sec-WebSocket-Key ${JSON.stringify(key)} is not 16 bytes`
  return { path, key, problem }
}

/** The 101 response that accepts `key`. */
function response101(key) {
  const accept = crypto.createHash('sha1').update(key + GUID).digest('base64')
  return Buffer.from(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n` +
      'Server: clawsock-conformance\r\n\r\n',
    'latin1',
  )
}

/** sha256 of a Buffer, hex (how large payloads are compared and shown). */
function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex')
}

module.exports = { bytes, encodeFrame, closePayload, parseClientFrames, parseRequest, response101, sha256 }
