package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBootstrapInitFailure: a configuration that does not load ends the
// process with a non-zero status before it asks the Runtime API for an
// event, so Lambda reports an INIT failure instead of serving.
func TestBootstrapInitFailure(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(broken, []byte(`apiVersion: tokenreview.dev/v1alpha1
kind: WebhookConfiguration
jwt:
- issuer:
    url: http://insecure.example
    audiences: [a]
  claimMappings:
    username: {claim: sub, prefix: ""}
  surprise: true
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		env      []string
		wantMsg  string
		wantLine []string // the logged problems, in order
	}{
		{
			name:    "invalid configuration",
			env:     []string{"TOKENREVIEW_CONFIG_FILE=" + broken},
			wantMsg: "invalid configuration; failing INIT",
			wantLine: []string{
				`jwt[0].surprise: Forbidden: unknown field`,
				`jwt[0].issuer.url: Invalid value: "http://insecure.example": URL scheme must be https`,
			},
		},
		{
			name:    "no configuration source",
			wantMsg: "cannot load the configuration; failing INIT",
		},
		{
			name:    "missing file",
			env:     []string{"TOKENREVIEW_CONFIG_FILE=/nonexistent/config.yaml"},
			wantMsg: "cannot load the configuration; failing INIT",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := startRuntimeAPI(t, [][]byte{[]byte(`{}`)})
			p := startBootstrap(t, rt, tc.env...)
			select {
			case <-p.exited:
			case <-time.After(30 * time.Second):
				t.Fatalf("bootstrap did not exit:\n%s", &p.stderr)
			}
			if code := p.cmd.ProcessState.ExitCode(); code != exitFail {
				t.Errorf("exit code %d, want %d", code, exitFail)
			}
			if n := rt.NextCalls(); n != 0 {
				t.Errorf("next called %d times before INIT failed", n)
			}
			var ll struct {
				Level, Msg string
				Problems   []string
				Error      string
			}
			line := strings.TrimSpace(p.stderr.String())
			if err := json.Unmarshal([]byte(line), &ll); err != nil {
				t.Fatalf("stderr is not one JSON line: %q", line)
			}
			if ll.Level != "ERROR" || ll.Msg != tc.wantMsg {
				t.Errorf("logged %s %q, want ERROR %q", ll.Level, ll.Msg, tc.wantMsg)
			}
			if tc.wantLine != nil && !slices.Equal(ll.Problems, tc.wantLine) {
				t.Errorf("problems %q\nwant %q", ll.Problems, tc.wantLine)
			}
			if tc.wantLine == nil && ll.Error == "" {
				t.Errorf("no error logged: %s", line)
			}
			if p.stdout.Len() != 0 {
				t.Errorf("stdout: %q, want nothing", p.stdout.String())
			}
		})
	}
}
