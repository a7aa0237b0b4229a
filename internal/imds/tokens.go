package imds

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// maxTokens bounds the live tokens one instance keeps. SDKs take one token
// per client and reuse it until it nearly expires, so a well-behaved app
// holds a handful; the bound only stops a runaway loop from growing memory.
const maxTokens = 4096

// tokenStore issues IMDSv2 session tokens and remembers their expiry. Tokens
// are 40 random bytes (crypto/rand), base64: unguessable, and as long as the
// 56-character tokens EC2 hands out.
type tokenStore struct {
	now func() time.Time

	mu      sync.Mutex
	expires map[string]time.Time
}

func newTokenStore(now func() time.Time) *tokenStore {
	return &tokenStore{now: now, expires: make(map[string]time.Time)}
}

// issue returns a new token valid for ttl from now.
func (s *tokenStore) issue(ttl time.Duration) string {
	var b [40]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	token := base64.StdEncoding.EncodeToString(b[:])

	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.expires) >= maxTokens {
		s.pruneLocked(now)
	}
	if len(s.expires) >= maxTokens {
		s.evictSoonestLocked()
	}
	s.expires[token] = now.Add(ttl)
	return token
}

// valid reports whether token was issued here and has not expired. An
// expired token is forgotten on sight.
func (s *tokenStore) valid(token string) bool {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.expires[token]
	if !ok {
		return false
	}
	if !now.Before(exp) {
		delete(s.expires, token)
		return false
	}
	return true
}

func (s *tokenStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.expires)
}

func (s *tokenStore) pruneLocked(now time.Time) {
	for t, exp := range s.expires {
		if !now.Before(exp) {
			delete(s.expires, t)
		}
	}
}

// evictSoonestLocked drops the live token closest to expiry, the one whose
// holder loses least. Only reached with maxTokens live tokens.
func (s *tokenStore) evictSoonestLocked() {
	var victim string
	var soonest time.Time
	for t, exp := range s.expires {
		if victim == "" || exp.Before(soonest) {
			victim, soonest = t, exp
		}
	}
	delete(s.expires, victim)
}
