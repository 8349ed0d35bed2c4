// Package frontend is the agent app's TypeScript UI (src/), built by Vite
// into dist/, which this package embeds: the desktop app serves it in its
// window. dist/ holds only .keep until `npm run build` (build/desktop.sh
// runs it) fills it; the app then shows how to build it.
package frontend

import "embed"

// Dist is the built UI: dist/index.html and its assets.
//
//go:embed all:dist
var Dist embed.FS
