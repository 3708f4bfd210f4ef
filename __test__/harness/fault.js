'use strict';
// In-process fault-injection WebSocket server (see __test__/peers/fault-server.js for paths).
//
//   const { startFaultServer } = require('./harness/fault');
//   const fs = await startFaultServer();                  // ws://127.0.0.1:P
//   const fss = await startFaultServer({ tls: { cert, key } });   // wss://127.0.0.1:P
//   fs.url('/reject/403'); fs.port; fs.received; fs.events
//   await fs.stop(); await fs.start();                    // same port again (restart tests)
//   await fs.fetchReceived()                              // same data as GET /__received
//
// Needs the devDependency ws@8.

const peers = require('../peers/fault-server');

async function startFaultServer(opts = {}) {
  const tls = opts.tls ? { cert: opts.tls.cert ?? opts.tls.certPem, key: opts.tls.key ?? opts.tls.keyPem } : undefined;
  const s = await peers.startFaultServer({ ...opts, tls });
  s.restart = async () => { await s.stop(); await s.start(); };
  s.fetchReceived = async () => (await fetch(`${s.httpUrl}/__received`)).json();
  s.reset = () => { s.received.length = 0; s.events.length = 0; };
  return s;
}

module.exports = { startFaultServer, frame: peers.frame, closePayload: peers.closePayload };
