package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestWrite zips a file and reads it back with archive/zip: one executable
// entry named bootstrap with the same bytes, and byte-identical zips for
// identical input.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bin")
	content := bytes.Repeat([]byte("\x7fELF not really a binary "), 1000)
	if err := os.WriteFile(src, content, 0o600); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip")
	for _, dst := range []string{a, b} {
		if err := write(dst, src); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	za, _ := os.ReadFile(a)
	zb, _ := os.ReadFile(b)
	if !bytes.Equal(za, zb) {
		t.Fatal("two zips of the same binary differ")
	}

	r, err := zip.OpenReader(a)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if len(r.File) != 1 {
		t.Fatalf("want 1 entry, got %d", len(r.File))
	}
	e := r.File[0]
	if e.Name != "bootstrap" || e.Mode().Perm() != 0o755 || e.Method != zip.Deflate {
		t.Fatalf("entry %q mode %v method %d", e.Name, e.Mode(), e.Method)
	}
	rc, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("content differs (err %v)", err)
	}
	if len(za) >= len(content) {
		t.Fatalf("not compressed: %d >= %d", len(za), len(content))
	}
}

// TestWriteMissingInput leaves no partial zip behind.
func TestWriteMissingInput(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "out.zip")
	if err := write(dst, filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Fatal("want an error")
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Fatalf("zip left behind: %v", err)
	}
}
