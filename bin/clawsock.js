#!/usr/bin/env node
'use strict'
// The `clawsock` command (npx clawsock …). See lib/cli/main.js, or run
// `clawsock --help`.
require('../lib/cli/main.js').run(process.argv.slice(2))
