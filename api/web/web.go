// Package web holds the dispatcher console and the applicants' page as built by
// `make web` (npm ci, then build.mjs bundles src/ into dist/). The built files are
// embedded in the binary, so a server needs nothing from outside hosts at run time.
//
// Imports allowed: the standard library.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Files are the built pages (console.html, citizen.html) and their assets (assets/…),
// each text file with its .gz and .br copies. A binary built before `make web` holds
// none of them.
func Files() fs.FS {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the folder is embedded by name: it is always there
	}
	return files
}
