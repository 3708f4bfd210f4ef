'use strict';
// Validate OpenClaw gateway frames against protocol.schema.json from
// @openclaw/gateway-protocol@2026.9.1 (devDependency) with Ajv 8 (devDependency).
//
//   const { validateFrame } = require('./__test__/harness/schema.js');
//   validateFrame('connect', {type:'req', id:'c1', method:'connect', params:{...}}) // -> [] when valid
//   validateFrame('req', frame)      // RequestFrame envelope (closed)
//   validateFrame('res', frame)      // ResponseFrame (payload open)
//   validateFrame('event', frame)    // EventFrame (payload open)
//   validateFrame('frame', frame)    // GatewayFrame (any of the three)
//   validateFrame('ConnectParams', params) / ('HelloOk', payload) / ('TickEvent', payload) / any definition name
//
// Returns an array of error strings ("<instancePath> <message>"); empty means valid.
// Notes: the schema file is not in the package's `exports`, so it is located by path on the
// module search paths. It is draft-07 with non-standard keywords (`discriminator`, `methods`,
// `x-openclaw-since`), hence Ajv `strict:false`. The 2026.9.1 HelloOk/Snapshot are stricter than
// what a 2026.9.6 gateway sends (auth.method, controlLinkReaders, ...): validate inbound
// payloads leniently.

const fs = require('node:fs');
const path = require('node:path');

const PKG = '@openclaw/gateway-protocol';
const SCHEMA_ID = 'https://openclaw.ai/protocol.schema.json';

function findSchemaPath() {
  const bases = [...(require.resolve.paths(PKG) || [])];
  for (const base of bases) {
    const p = path.join(base, PKG, 'protocol.schema.json');
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`schema.js: ${PKG}/protocol.schema.json not found (install the devDependency ${PKG}@2026.9.1)`);
}

let ajv = null;
const compiled = new Map();

function getAjv() {
  if (ajv) return ajv;
  const Ajv = require('ajv');
  ajv = new (Ajv.default || Ajv)({ strict: false, allErrors: true, validateFormats: false });
  const schema = JSON.parse(fs.readFileSync(findSchemaPath(), 'utf8'));
  ajv.addSchema(schema, SCHEMA_ID);
  return ajv;
}

function validatorFor(name) {
  if (compiled.has(name)) return compiled.get(name);
  const a = getAjv();
  const v = a.getSchema(`${SCHEMA_ID}#/definitions/${name}`);
  if (!v) throw new Error(`schema.js: no definition named ${name}`);
  compiled.set(name, v);
  return v;
}

function run(name, obj, prefix = '') {
  const v = validatorFor(name);
  if (v(obj)) return [];
  return (v.errors || []).map((e) => {
    const extra = e.params && e.params.additionalProperty ? ` '${e.params.additionalProperty}'` : e.params && e.params.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : '';
    return `${prefix}${e.instancePath || '/'} ${e.message}${extra}`;
  });
}

const KIND = { req: 'RequestFrame', res: 'ResponseFrame', event: 'EventFrame', frame: 'GatewayFrame', 'hello-ok': 'HelloOk' };

/** @returns {string[]} errors, [] if valid */
function validateFrame(kind, obj) {
  if (kind === 'connect') {
    const errs = run('RequestFrame', obj);
    if (obj && obj.method !== 'connect') errs.push(`/method must be "connect"`);
    return errs.concat(run('ConnectParams', obj && obj.params, '/params'));
  }
  return run(KIND[kind] || kind, obj);
}

module.exports = { validateFrame, findSchemaPath };
