'use strict'
// clawsock: the public entry. The native loader is native.js; the JS API
// lives in lib/, one file per concern.
const { WebSocket } = require('./lib/websocket.js')
const { MessageEvent, CloseEvent, ErrorEvent } = require('./lib/events.js')
const { GatewayClient, GatewayError, DeviceIdentity } = require('./lib/gateway.js')
const { ReconnectingWebSocket, ReconnectingEvent, TerminalEvent, DroppedEvent } = require('./lib/reconnecting.js')

module.exports = { WebSocket, MessageEvent, CloseEvent, ErrorEvent }
Object.assign(module.exports, { ReconnectingWebSocket, ReconnectingEvent, TerminalEvent, DroppedEvent })
Object.assign(module.exports, { GatewayClient, GatewayError, DeviceIdentity })
module.exports.default = WebSocket
