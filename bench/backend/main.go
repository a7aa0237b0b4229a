// Command backend is the tiny target of bench/proxy.sh: GET / answers 200
// with a 100-byte body, the same backend for elbow and every peer it is
// measured against (bench/README.md).
package main

import (
	"bytes"
	"flag"
	"log"
	"net/http"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.2:8000", "address to listen on")
	flag.Parse()
	body := bytes.Repeat([]byte("x"), 100)
	length := strconv.Itoa(len(body))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain"}
		w.Header()["Content-Length"] = []string{length}
		_, _ = w.Write(body)
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
