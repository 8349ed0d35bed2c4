// Command tsgen writes package protocol's types as TypeScript for the UI:
// go generate ./protocol runs it (see protocol/doc.go), and a test in
// package protocol fails when the file it wrote is stale.
//
//	go run ./internal/cmd/tsgen -out ../frontend/src/protocol.ts
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hushphone/hushphone/protocol/internal/tsgen"
)

func main() {
	dir := flag.String("dir", ".", "the Go package to read")
	out := flag.String("out", "", "the TypeScript file to write")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "tsgen: -out is needed")
		os.Exit(2)
	}
	if err := tsgen.Write(*dir, *out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
