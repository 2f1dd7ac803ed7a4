// Builds the client into dist/: src/app.js + JsSIP bundled by esbuild, the page and its style copied.
//   node build.js          (npm run build; `make web` runs it when src/ changed)
'use strict';
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const src = path.join(__dirname, 'src');
const dist = path.join(__dirname, 'dist');
fs.mkdirSync(dist, { recursive: true });
esbuild.buildSync({
	entryPoints: [path.join(src, 'app.js')],
	outfile: path.join(dist, 'app.js'),
	bundle: true,
	minify: true,
	sourcemap: false,
	format: 'iife',
	target: ['chrome100', 'firefox100', 'safari15'],
	legalComments: 'eof',
	logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) fs.copyFileSync(path.join(src, f), path.join(dist, f));
console.log(`web: built ${path.relative(process.cwd(), dist) || '.'}/ (${fs.readdirSync(dist).join(' ')})`);
