package imds

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// Layout of a token before base64: the expiry, a nonce, and an HMAC-SHA256
// over both truncated to 24 bytes. 42 bytes make 56 base64 characters with
// no padding, the length of the tokens EC2 hands out.
const (
	tokenExpiryLen = 8
	tokenNonceLen  = 10
	tokenMACLen    = 24
	tokenRawLen    = tokenExpiryLen + tokenNonceLen + tokenMACLen
	tokenLen       = tokenRawLen / 3 * 4
)

// tokenSigner issues and checks IMDSv2 session tokens without remembering
// them: a token carries its own expiry and proves with an HMAC under this
// server's key that this server issued it. So there is no store for a flood
// of PUTs to fill, and no token is ever dropped before it expires, whoever
// else asks for tokens and how often. That is EC2's promise: "There is no
// practical limit on the number of concurrent tokens, each representing its
// own session" (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html).
//
// The key is drawn at New and lives as long as the Server, so a token is
// valid on the instance that issued it only ("The token is an
// instance-specific key", same page) and a restarted service refuses the old
// ones with 401, which the SDKs answer by taking a new token.
type tokenSigner struct {
	key [32]byte
	now func() time.Time
	// epoch is the clock reading at New. Expiries are kept as an offset
	// from it: time.Time.Sub uses the monotonic clock when both readings
	// carry one (package time, "Monotonic Clocks"), so a wall-clock step
	// neither stretches nor cuts a token's life.
	epoch time.Time
}

func newTokenSigner(now func() time.Time) *tokenSigner {
	s := &tokenSigner{now: now, epoch: now()}
	rand.Read(s.key[:]) // never returns an error (crypto/rand, Go 1.24+)
	return s
}

// issue returns a new token valid for ttl from now.
func (s *tokenSigner) issue(ttl time.Duration) string {
	var raw [tokenRawLen]byte
	expiry := s.now().Sub(s.epoch) + ttl
	binary.BigEndian.PutUint64(raw[:tokenExpiryLen], uint64(expiry))
	// The nonce makes two tokens issued in the same instant with the same
	// TTL differ; it says nothing about the caller.
	rand.Read(raw[tokenExpiryLen : tokenExpiryLen+tokenNonceLen])
	s.sign(raw[:tokenExpiryLen+tokenNonceLen], raw[tokenExpiryLen+tokenNonceLen:])
	return base64.StdEncoding.EncodeToString(raw[:])
}

// valid reports whether token was issued by this server and has not
// expired.
func (s *tokenSigner) valid(token string) bool {
	if len(token) != tokenLen {
		return false
	}
	var raw [tokenRawLen]byte
	n, err := base64.StdEncoding.Decode(raw[:], []byte(token))
	if err != nil || n != tokenRawLen {
		return false
	}
	var want [tokenMACLen]byte
	s.sign(raw[:tokenExpiryLen+tokenNonceLen], want[:])
	if !hmac.Equal(want[:], raw[tokenExpiryLen+tokenNonceLen:]) {
		return false
	}
	expiry := time.Duration(binary.BigEndian.Uint64(raw[:tokenExpiryLen]))
	return s.now().Sub(s.epoch) < expiry
}

// sign writes the truncated HMAC-SHA256 of msg into mac. 192 bits leave no
// room for forgery by guessing (NIST SP 800-107r1 section 5.3.4 allows
// truncation to as few as 32 bits, with the attacker's odds set by the
// length kept).
func (s *tokenSigner) sign(msg, mac []byte) {
	h := hmac.New(sha256.New, s.key[:])
	h.Write(msg)
	copy(mac, h.Sum(nil))
}
