// goverify: the real Go crypto/x509 verdict for the oracle tests.
// Usage: goverify ROOTS.pem CHAIN.pem HOST UNIXTIME
// CHAIN.pem holds the leaf first, then the intermediates (like crypto/tls).
// Prints "OK" or the error text Go returns.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"time"
)

func certs(path string) []*x509.Certificate {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			fmt.Println("PARSE:", err)
			os.Exit(2)
		}
		out = append(out, c)
	}
}

func main() {
	roots := x509.NewCertPool()
	rootData, _ := os.ReadFile(os.Args[1])
	roots.AppendCertsFromPEM(rootData)
	chain := certs(os.Args[2])
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	secs, _ := strconv.ParseInt(os.Args[4], 10, 64)
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: time.Unix(secs, 0)}
	if os.Args[3] != "-" {
		opts.DNSName = os.Args[3]
	}
	if _, err := chain[0].Verify(opts); err != nil {
		fmt.Println(err.Error())
		return
	}
	fmt.Println("OK")
}
