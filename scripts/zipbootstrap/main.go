// Command zipbootstrap packages a Lambda custom-runtime binary as a
// deployment zip: one entry named "bootstrap", mode 0755 (Lambda executes
// it), deflated, with a fixed timestamp so the same binary gives the same
// zip. It replaces the `zip` tool, which a fresh machine may lack.
//
//	go run ./scripts/zipbootstrap -o build/tokenreview-arm64.zip build/arm64/bootstrap
package main

import (
	"archive/zip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

// epoch is the zip format's earliest date, used for reproducible archives.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("o", "", "the zip file to write")
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: zipbootstrap -o out.zip path/to/bootstrap")
		os.Exit(2)
	}
	if err := write(*out, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "zipbootstrap:", err)
		os.Exit(1)
	}
}

// write zips the binary at src into dst as the entry "bootstrap".
func write(dst, src string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("opening the binary: %w", err)
	}
	defer in.Close()

	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("creating %s: %w", dst, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing %s: %w", dst, cerr)
		}
		if err != nil {
			err = errors.Join(err, os.Remove(dst))
		}
	}()

	zw := zip.NewWriter(f)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: epoch}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return fmt.Errorf("adding bootstrap: %w", err)
	}
	if _, err := io.Copy(w, in); err != nil {
		return fmt.Errorf("compressing %s: %w", src, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finishing %s: %w", dst, err)
	}
	return nil
}
