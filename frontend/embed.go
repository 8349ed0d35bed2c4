// Package frontend is the TypeScript UIs (src/), built by Vite into
// dist/, which this package embeds: the agent app (index.html), which the
// desktop app serves in its window, and the supervisor and admin console
// (console.html), which the server serves at / (server/console). dist/
// holds only .keep until `npm run build` (build/desktop.sh and `make
// console` run it) fills it; the app and the server then say how to
// build it.
package frontend

import (
	"embed"
	"io/fs"
)

// Dist is the built UI: dist/index.html, dist/console.html and their assets.
//
//go:embed all:dist
var Dist embed.FS

// Files is Dist's dist/ folder as the root: index.html, console.html,
// assets/.
func Files() (fs.FS, error) {
	return fs.Sub(Dist, "dist") //nolint:wrapcheck // fails only for an invalid path, and "dist" is valid
}
