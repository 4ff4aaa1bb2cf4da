// Package e2e proves the webhook end to end with real kube-apiservers: a
// cluster B whose service-account tokens, and a local OIDC issuer whose ID
// tokens, are accepted by a cluster A through `tokenreview serve` configured
// as A's --authentication-token-webhook. Everything runs on 127.0.0.1 from
// binaries built here from source (kube-apiserver and etcd from the module
// proxy, the webhook from this repository).
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// kubeVersion is stamped into kube-apiserver (its /version and the
// compatibility-version logic need a real version, not v0.0.0).
const kubeVersion = "v1.37.2"

// binaries are the paths of the programs the test runs.
type binaries struct {
	kubeAPIServer, etcd, tokenreview string
}

var bins binaries

// TestMain creates the log directory and builds the three programs. The
// Go build cache makes the rebuild a no-op (or a relink) when nothing
// changed.
func TestMain(m *testing.M) {
	var err error
	if logDir, err = setupLogDir(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "e2e: logs in", logDir)
	if bins, err = build(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// build compiles kube-apiserver and etcd from this test module and the
// webhook from the repository root (or $E2E_WEBHOOK_SRC), into test/.bin.
func build() (binaries, error) {
	wd, err := os.Getwd() // test/e2e
	if err != nil {
		return binaries{}, fmt.Errorf("working directory: %w", err)
	}
	testRoot := filepath.Dir(wd)
	repoRoot := filepath.Dir(testRoot)
	if dir := os.Getenv("E2E_WEBHOOK_SRC"); dir != "" {
		// Another checkout of the repository (a branch under review).
		repoRoot = dir
		fmt.Fprintln(os.Stderr, "e2e: building the webhook from", dir)
	}
	binDir := filepath.Join(testRoot, ".bin")
	b := binaries{
		kubeAPIServer: filepath.Join(binDir, "kube-apiserver"),
		etcd:          filepath.Join(binDir, "etcd"),
		tokenreview:   filepath.Join(binDir, "tokenreview"),
	}
	steps := []struct {
		dir  string
		args []string
	}{
		{repoRoot, []string{"build", "-o", b.tokenreview, "./functions/tokenreview"}},
		{testRoot, []string{"build", "-o", b.etcd, "./cmd/etcd"}},
		{testRoot, []string{"build", "-ldflags", "-X k8s.io/component-base/version.gitVersion=" + kubeVersion,
			"-o", b.kubeAPIServer, "k8s.io/kubernetes/cmd/kube-apiserver"}},
	}
	for _, s := range steps {
		began := time.Now()
		cmd := exec.Command("go", s.args...)
		cmd.Dir = s.dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return binaries{}, fmt.Errorf("go %v in %s: %w\n%s", s.args, s.dir, err, out)
		}
		fmt.Fprintf(os.Stderr, "e2e: built %s in %s\n", filepath.Base(s.args[len(s.args)-1]), time.Since(began).Round(time.Millisecond))
	}
	return b, nil
}
