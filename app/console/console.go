// Package console is the clinic's web console: plain ES modules and CSS,
// embedded into the binary and served by app at /console/. It is a client
// of the public /v1 API only (see README "Clinic console"); it has no
// build step and no vendored libraries. It imports nothing of ours.
//
// index.html loads main.js and console.css; main.js imports the shell
// (api, i18n, dom, format, ws) statically and each screen with import()
// when it is first opened, so the first load stays small (the app tests
// sum it). Screens are modules under screens/, listed in main.js.
package console

import "embed"

// Files are the console's files, rooted at this directory.
//
//go:embed index.html *.js *.css *.svg i18n/*.js screens/*.js
var Files embed.FS
