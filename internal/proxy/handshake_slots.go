package proxy

import "runtime"

// Handshake slots: at most a bounded number of TLS handshakes compute at
// once, and the cores beyond them stay free for connections already past
// theirs.
//
// Why: a full handshake's server side is one burst of CPU (the key share,
// and the certificate's signature: about 0.3 ms with an RSA 2048 key, the
// ACM default) between reading the ClientHello and writing the server's
// flight. Go's scheduler runs ready goroutines in arrival order, so without
// a bound a request whose target just answered waits behind every
// handshake that became ready before it: under a stream of new connections
// the established ones see the handshakes' CPU as latency (bench/up.sh's
// close row measured p99 1.27x nginx's with more requests served; with the
// bound, 0.87x). An event loop (nginx) interleaves the two by construction.
// The bound also keeps a flood of handshakes from taking every core from
// the traffic in flight, the concern behind HAProxy's maxsslrate.
//
// A slot is taken when crypto/tls hands the ClientHello to the config's
// GetConfigForClient, and given back at the handshake's first write to the
// connection (crypto/tls writes the server's flight at once, after the
// signature) or when the handshake ends, whichever is first: it is never
// held across a wait for the client. Waiters are served in order (a
// channel's senders queue FIFO). A TLS 1.3 client whose key share the
// server cannot use gets a HelloRetryRequest, which gives the slot back,
// and its second ClientHello is not offered to GetConfigForClient: that
// handshake's signature is computed outside the bound, as is net/http's
// path (the loop off), whose connections are not rawNetConns.
type handshakeSlots chan struct{}

// newHandshakeSlots leaves one core for established connections, keeping
// at least one slot.
func newHandshakeSlots() handshakeSlots {
	return make(handshakeSlots, max(1, runtime.GOMAXPROCS(0)-1))
}

// take and give are rawNetConn's, so that a slot goes with the connection
// that holds it.
func (r *rawNetConn) takeHandshakeSlot() {
	if r.slots != nil && !r.holdsSlot {
		r.slots <- struct{}{}
		r.holdsSlot = true
	}
}

func (r *rawNetConn) giveHandshakeSlot() {
	if r.holdsSlot {
		r.holdsSlot = false
		<-r.slots
	}
}
