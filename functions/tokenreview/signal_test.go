package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeStopsOnSIGTERM runs the real binary (the deployed build is
// also a CLI) as `serve`, serves one review, sends SIGTERM and expects a
// graceful exit 0.
func TestServeStopsOnSIGTERM(t *testing.T) {
	bin := buildBootstrap(t)
	f := newFixture(t)
	cmd := exec.Command(bin, "serve", "--config", f.config, "--listen", "127.0.0.1:0")
	// An io.Pipe, not StderrPipe: Wait must not close what is being read.
	stderr, pw := io.Pipe()
	cmd.Stderr = pw
	defer pw.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func(msg string) map[string]any {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stderr closed before %q", msg)
				}
				var m map[string]any
				if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
					return m
				}
			case <-timeout:
				t.Fatalf("no %q log line", msg)
			}
		}
	}
	url, _ := next("listening")["url"].(string)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("listening on %q", url)
	}
	code, body := postReview(t, httpClientPlain(), url+"/tokenreview", endpointToken, f.token("jill", audKube, time.Hour))
	if code != 200 || !strings.Contains(body, `"authenticated":true`) {
		t.Fatalf("review: %d %s", code, body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	next("shutting down")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("did not exit after SIGTERM")
	}
}
