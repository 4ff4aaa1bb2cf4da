package infra_test

import (
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSAMBuildTarget runs the Makefile target SAM's makefile builder runs,
// the way it runs it (ARTIFACTS_DIR in the environment), and inspects the
// binary it leaves: a stripped linux/arm64 ELF of the function's main
// package, built without cgo, with -tags lambda.norpc and -trimpath. This
// is what `sam build` deploys with the template's default Architecture.
func TestSAMBuildTarget(t *testing.T) {
	artifacts := t.TempDir()
	cmd := exec.Command("make", "--no-print-directory", "build-TokenReviewFunction")
	cmd.Dir = repoRoot(t)
	// The environment SAM gives make: ours plus ARTIFACTS_DIR, without a
	// LAMBDA_GOARCH override, so the default architecture is what is built.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LAMBDA_GOARCH=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "ARTIFACTS_DIR="+artifacts)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-TokenReviewFunction: %v\n%s", err, out)
	}
	bin := filepath.Join(artifacts, "bootstrap")
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o111 == 0 {
		t.Fatalf("bootstrap is not executable: %v", st.Mode())
	}

	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if info.Path != "github.com/tokenreview/webhook/functions/tokenreview" {
		t.Fatalf("built %s", info.Path)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{
		"GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0",
		"-tags": "lambda.norpc", "-trimpath": "true",
	} {
		if settings[key] != want {
			t.Errorf("build setting %s = %q, want %q", key, settings[key], want)
		}
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("ELF machine %v, want EM_AARCH64", f.Machine)
	}
	if _, err := f.Symbols(); !errors.Is(err, elf.ErrNoSymbols) {
		t.Errorf("binary is not stripped (-ldflags='-s -w'): symbols err = %v", err)
	}
}
