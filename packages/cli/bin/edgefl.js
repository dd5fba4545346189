#!/usr/bin/env node
// The `edgefl` command. A file of its own, not dist/main.js itself, so that npm can link the command
// before the package is built (a fresh clone builds in `npm ci`'s prepare step, after linking).
import '../dist/main.js';
