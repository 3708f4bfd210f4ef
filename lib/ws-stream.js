'use strict'
// ws's createWebSocketStream(ws, options) for `clawsock/ws`: a Duplex over a
// socket. Writes are sent as messages (a write's callback runs once the
// message is written); each received message is pushed as a chunk, and a
// full readable buffer pauses the socket (which stops reading it: TCP
// backpressure reaches the server) until the stream is read again. The
// readable side ends at the socket's close; ending the writable side starts
// the closing handshake; destroy() terminates the socket.

const { Duplex } = require('node:stream')

function createWebSocketStream(ws, options) {
  let terminateOnDestroy = true
  const duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
  })

  ws.on('message', (msg, isBinary) => {
    const data = !isBinary && duplex._readableState.objectMode ? msg.toString() : msg
    if (!duplex.push(data)) ws.pause()
  })
  ws.once('error', (err) => {
    if (duplex.destroyed) return
    // ws closes the socket itself after an error: no need to terminate it.
    terminateOnDestroy = false
    duplex.destroy(err)
  })
  ws.once('close', () => {
    if (duplex.destroyed) return
    duplex.push(null)
  })

  duplex._destroy = (err, callback) => {
    if (ws.readyState === ws.CLOSED) {
      callback(err)
      process.nextTick(() => duplex.emit('close'))
      return
    }
    let called = false
    ws.once('error', (e) => {
      called = true
      callback(e)
    })
    ws.once('close', () => {
      if (!called) callback(err)
      process.nextTick(() => duplex.emit('close'))
    })
    if (terminateOnDestroy) ws.terminate()
  }

  duplex._final = (callback) => {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', () => duplex._final(callback))
      return
    }
    if (ws.readyState === ws.CLOSED) {
      callback()
      if (duplex._readableState.endEmitted) duplex.destroy()
      return
    }
    ws.once('close', () => {
      callback()
      if (duplex._readableState.endEmitted) duplex.destroy()
    })
    ws.close()
  }

  duplex._read = () => {
    if (ws.isPaused) ws.resume()
  }

  duplex._write = (chunk, encoding, callback) => {
    if (ws.readyState === ws.CONNECTING) {
      ws.once('open', () => duplex._write(chunk, encoding, callback))
      return
    }
    ws.send(chunk, callback)
  }

  duplex.on('end', () => {
    if (!duplex.destroyed && duplex._writableState.finished) duplex.destroy()
  })
  duplex.on('error', function onError() {
    this.destroy()
  })
  return duplex
}

module.exports = { createWebSocketStream }
