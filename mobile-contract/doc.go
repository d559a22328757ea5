// Package mobilecontract is the device-facing contract that couriers' handhelds are built
// against: the OpenAPI document and the registry of problem codes.
//
// Imports allowed: the standard library only; nothing of courierd's own, so that the device
// team can vendor it alone.
package mobilecontract

import "embed"

// OpenAPI is openapi.yaml: the operations a handheld may call and every answer it can get.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Problems is problems.json: each problem code with its status, whether a retry can help
// and what the device should do.
//
//go:embed problems.json
var Problems []byte

// Schemas holds schemas/<type>.json: the JSON Schema of each mutation type's payload.
//
//go:embed schemas/*.json
var Schemas embed.FS

// Examples holds examples/*.json: a request and its answer for each scenario the device
// team should recognise.
//
//go:embed examples/*.json
var Examples embed.FS
