// Package mobilecontract is the device-facing contract that couriers' handhelds are built
// against: the OpenAPI document, a JSON example of every message, the client generated
// from the document, and the changelog of contract versions.
//
// Imports allowed: the standard library and what the generated client needs; nothing of
// courierd's own, so that the device team can vendor it alone.
package mobilecontract
