'use strict'
// `clawsock/ws`: ws's client API (`const WebSocket = require('clawsock/ws')`).
// The class is lib/ws.js; like ws, the module is the class, with the
// stream helper and the class itself as properties. There is no server.
const { WebSocket } = require('./lib/ws.js')
const { createWebSocketStream } = require('./lib/ws-stream.js')
const { Event, MessageEvent, CloseEvent, ErrorEvent } = require('./lib/ws-event-target.js')

WebSocket.WebSocket = WebSocket
WebSocket.createWebSocketStream = createWebSocketStream
Object.assign(WebSocket, { Event, MessageEvent, CloseEvent, ErrorEvent })
module.exports = WebSocket
