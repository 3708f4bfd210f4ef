'use strict'
// clawsock: the public entry. The native loader is native.js; the JS API
// lives in lib/, one file per concern.
const { WebSocket } = require('./lib/websocket.js')
const { MessageEvent, CloseEvent, ErrorEvent } = require('./lib/events.js')

module.exports = { WebSocket, MessageEvent, CloseEvent, ErrorEvent }
module.exports.default = WebSocket
