//go:build norecord

package environment

// recordResponses is false in the norecord diagnostic build: see
// record_default.go.
const recordResponses = false
