package imds

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// clientFrom returns an HTTP client whose connections leave from the
// loopback address ip, so the service sees a caller other than 127.0.0.1.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func putToken(c *http.Client, url, ttl string) (string, error) {
	req, err := http.NewRequest(http.MethodPut, url+TokenPath, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set(TokenTTLHeader, ttl)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("PUT %s: %d %q", TokenPath, resp.StatusCode, body)
	}
	return string(body), nil
}

func getWithToken(c *http.Client, url, token string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url+"/latest/meta-data/instance-id", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set(TokenHeader, token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// Defect 10: the old store held 4,096 tokens and, once full, evicted the
// live token closest to expiry, so any process could revoke another's
// session by asking for tokens. EC2: "There is no practical limit on the
// number of concurrent tokens, each representing its own session."
func TestTokenFloodRevokesNoLiveToken(t *testing.T) {
	ts := startServer(t, testInstance(), Options{TokensRequired: true})
	victim := clientFrom(t, "127.0.0.5")
	flooder := ts.Client()

	// The victim's token is the soonest to expire and the flooder's first
	// one the next: the two the old store evicted first.
	victimToken, err := putToken(victim, ts.URL, "60")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ts.logs.String(), "remote=127.0.0.5:") {
		t.Fatalf("the victim's token request did not come from 127.0.0.5:\n%s", ts.logs.String())
	}
	ownFirst, err := putToken(flooder, ts.URL, "120")
	if err != nil {
		t.Fatal(err)
	}

	const flood, workers = 10000, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	last := make([]string, workers)
	for w := range workers {
		wg.Go(func() {
			for range flood / workers {
				tok, err := putToken(flooder, ts.URL, "21600")
				if err != nil {
					errs <- err
					return
				}
				last[w] = tok
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("flood: %v", err)
	}

	for _, tc := range []struct {
		who    string
		client *http.Client
		token  string
	}{
		{"victim's token, taken from 127.0.0.5 before the flood", victim, victimToken},
		{"flooder's own token taken before the flood", flooder, ownFirst},
		{"flooder's last token", flooder, last[0]},
	} {
		status, err := getWithToken(tc.client, ts.URL, tc.token)
		if err != nil || status != http.StatusOK {
			t.Errorf("%s after %d PUTs: %d %v, want 200", tc.who, flood, status, err)
		}
	}
	// The tokens still expire on time.
	ts.clock.Advance(time.Minute)
	if status, err := getWithToken(victim, ts.URL, victimToken); err != nil || status != http.StatusUnauthorized {
		t.Errorf("victim's 60 s token a minute later: %d %v, want 401", status, err)
	}
}

// A forged token, an altered expiry or another key's signature is 401.
func TestTokenTampering(t *testing.T) {
	clock := newFakeClock()
	s := newTokenSigner(clock.Now)
	tok := s.issue(time.Minute)
	if !s.valid(tok) {
		t.Fatalf("fresh token refused")
	}
	flip := func(i int) string {
		b := []byte(tok)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for name, bad := range map[string]string{
		"expiry altered":    flip(2),
		"nonce altered":     flip(14),
		"signature altered": flip(50),
		"truncated":         tok[:len(tok)-4],
		"padded":            tok + "====",
		"not base64":        strings.Repeat("!", len(tok)),
		"other key":         newTokenSigner(clock.Now).issue(time.Minute),
	} {
		if s.valid(bad) {
			t.Errorf("%s: accepted", name)
		}
	}
}

// serveRaw runs the metadata service through HTTPServer on 127.0.0.1 and
// returns its address.
func serveRaw(t *testing.T, o Options) string {
	t.Helper()
	srv, err := New(testInstance(), o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln)
	}()
	t.Cleanup(func() {
		hs.Close()
		<-done
	})
	return ln.Addr().String()
}

// waitClosed reads conn until the server closes it, failing the test if
// that takes longer than guard (the server never closed it).
func waitClosed(t *testing.T, conn net.Conn, guard time.Duration) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(guard))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v: the server never closed it", guard)
	}
}

func TestIdleConnectionIsClosed(t *testing.T) {
	const idle = 50 * time.Millisecond
	addr := serveRaw(t, Options{IdleTimeout: idle})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	// Two requests on one connection: it is kept alive between them. The
	// server's idle clock starts once it has answered, which is after the
	// client's write; timing from the write keeps the lower bound sound.
	var start time.Time
	for range 2 {
		start = time.Now()
		if _, err := io.WriteString(conn, "GET /latest/meta-data/local-ipv4 HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "127.0.0.2" || resp.Close {
			t.Fatalf("GET local-ipv4: %d %q close %v; want 200 127.0.0.2 on a kept-alive connection", resp.StatusCode, body, resp.Close)
		}
	}
	waitClosed(t, conn, 5*time.Second)
	if held := time.Since(start); held < idle {
		t.Errorf("idle connection closed after %v, before the idle timeout %v", held, idle)
	}
}

func TestSlowRequestHeadersAreCut(t *testing.T) {
	const header = 50 * time.Millisecond
	addr := serveRaw(t, Options{ReadHeaderTimeout: header})
	// The server's clock starts at accept, which can come before Dial
	// returns here; timing from before the dial keeps the lower bound sound.
	start := time.Now()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers begun and never finished.
	if _, err := io.WriteString(conn, "GET /latest/meta-data/local-ipv4 HTTP/1.1\r\nHost: 169.254.169.254\r\n"); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, conn, 5*time.Second)
	if held := time.Since(start); held < header {
		t.Errorf("connection cut after %v, before the read-header timeout %v", held, header)
	}
}

func TestHTTPServerTimeouts(t *testing.T) {
	srv, err := New(testInstance(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer()
	if hs.IdleTimeout != DefaultIdleTimeout || hs.ReadHeaderTimeout != DefaultReadHeaderTimeout ||
		hs.ReadTimeout <= hs.ReadHeaderTimeout || hs.WriteTimeout <= 0 || hs.Handler != srv {
		t.Errorf("HTTPServer: idle %v, read header %v, read %v, write %v; want idle %v, read header %v, every phase bounded",
			hs.IdleTimeout, hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, DefaultIdleTimeout, DefaultReadHeaderTimeout)
	}
}

func TestNewRejectsNegativeTimeouts(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{IdleTimeout: -time.Second}, "IdleTimeout -1s: must be positive, or zero for 5s"},
		{Options{ReadHeaderTimeout: -time.Second}, "ReadHeaderTimeout -1s: must be positive, or zero for 2s"},
	} {
		if _, err := New(testInstance(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v): %v, want an error containing %q", tc.o, err, tc.want)
		}
	}
}
