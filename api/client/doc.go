// Package client is the Go client of courierd's API for partner systems and tools, generated
// from docs/openapi.json by oapi-codegen. Never edit client.gen.go: change the routes, run
// go test ./api -run TestAPIDocument -update, then go generate ./api/client; make lint fails
// while the two disagree. The TypeScript client of the same document is in typescript/.
package client

//go:generate ../../scripts/clients.sh write
