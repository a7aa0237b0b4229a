//go:build !norecord

package environment

// recordResponses: the proxy hands every response it gives to the
// monitor, the console's metrics and the scaling figures. A diagnostic
// build (go build -tags norecord ./cmd/elbow) does not, so that
// bench/recording.sh can measure what recording costs `elbow up` per
// request. Users never run that build: enhanced health needs the records.
const recordResponses = true
