// ESM entry of `clawsock/ws`, as ws's wrapper.mjs: the class is the default
// export; `WebSocket` and `createWebSocketStream` are named exports.
import WebSocket from './ws.js'

export const { createWebSocketStream } = WebSocket
export { WebSocket }
export default WebSocket
