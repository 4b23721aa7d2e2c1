// goverify: the real Go TLS client's verdict on certificate chains, for the
// oracle tests and the conformance report (trustdoctor.conformance.oracles).
//
// Usage: goverify CASES.json
//
// CASES.json is a JSON array of {"id", "roots": PEM text, "chain": [base64
// DER, leaf first], "host", "time": unix seconds}.  For each case the chain is
// served over loopback TCP (127.0.0.1) by a crypto/tls server and judged by a
// crypto/tls client with RootCAs from the PEM text (AppendCertsFromPEM, as a
// program loading a CA file does), ServerName = host and Time = the case's
// time.  So the text printed is exactly the error a Go program of this Go
// version returns from the handshake: parse errors, the "tls: failed to
// verify certificate:" wrapper of newer releases, the x509 error itself.
// A chain crypto/tls accepts reaches VerifyPeerCertificate, which stops the
// handshake with a marker and the case prints OK.  The server's key does not
// match the leaf: nothing after certificate verification is reached.
//
// Prints one JSON object per case and line: {"id", "ok", "error"}.
// Builds with Go 1.19 and later (no newer language features).
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"time"
)

type testCase struct {
	ID    string   `json:"id"`
	Roots string   `json:"roots"`
	Chain [][]byte `json:"chain"`
	Host  string   `json:"host"`
	Time  int64    `json:"time"`
}

type result struct {
	ID      string `json:"id"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
	Version string `json:"go_version"`
}

var errAccepted = errors.New("goverify: chain accepted")

func judge(c testCase, key *ecdsa.PrivateKey, ln net.Listener) result {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(c.Roots))
	when := time.Unix(c.Time, 0)
	clientSide, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer clientSide.Close()
	serverSide, err := ln.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	server := tls.Server(serverSide, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: c.Chain, PrivateKey: key}},
		Time:         func() time.Time { return when },
	})
	go func() {
		_ = server.Handshake()
		serverSide.Close()
	}()
	client := tls.Client(clientSide, &tls.Config{
		RootCAs:    roots,
		ServerName: c.Host,
		Time:       func() time.Time { return when },
		VerifyPeerCertificate: func([][]byte, [][]*x509.Certificate) error {
			return errAccepted
		},
	})
	_ = client.SetDeadline(time.Now().Add(20 * time.Second))
	err = client.Handshake()
	r := result{ID: c.ID, Version: runtime.Version()}
	if err == nil || errors.Is(err, errAccepted) || err.Error() == errAccepted.Error() {
		r.OK = true
	} else {
		r.Error = err.Error()
	}
	return r
}

func main() {
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var cases []testCase
	if err := json.Unmarshal(data, &cases); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Loopback TCP rather than net.Pipe: a client that fails verification
	// sends an alert while the server is still writing its flight, and an
	// unbuffered pipe would block both until the deadline.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer ln.Close()
	enc := json.NewEncoder(os.Stdout)
	for _, c := range cases {
		if err := enc.Encode(judge(c, key, ln)); err != nil {
			os.Exit(2)
		}
	}
}
