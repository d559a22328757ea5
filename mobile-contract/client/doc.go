// Package client is the Go client of the device contract, generated from ../openapi.yaml by
// oapi-codegen. Never edit client.gen.go: change the contract and run go generate; a test
// fails when the two disagree. courierd's tests and the device simulator talk through it.
package client

//go:generate ../../scripts/clients.sh write
