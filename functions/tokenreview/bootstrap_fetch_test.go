package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestBootstrapFetchesKeysAtInit: in Lambda, an issuer reached over the
// network has its keys fetched during INIT, and that fetch is reported in
// EMF (KeyFetches by Issuer) before the first review's metrics.
func TestBootstrapFetchesKeysAtInit(t *testing.T) {
	f := newFixture(t)
	ev, err := json.Marshal(map[string]any{
		"apiVersion": "authentication.k8s.io/v1",
		"kind":       "TokenReview",
		"spec":       map[string]any{"token": f.token("kim", audKube, time.Hour), "audiences": []string{audKube}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rt := startRuntimeAPI(t, [][]byte{ev})
	p := startBootstrap(t, rt, "TOKENREVIEW_CONFIG_FILE="+f.config)
	select {
	case <-rt.allDone:
	case <-p.exited:
		t.Fatalf("bootstrap exited early:\n%s", &p.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("the event was not answered:\n%s", &p.stderr)
	}
	_ = p.cmd.Process.Kill()
	<-p.exited

	a, _ := rt.Answer(requestID(0))
	var tr struct {
		Status struct {
			Authenticated bool
			User          struct{ Username string }
			Audiences     []string
		}
	}
	if err := json.Unmarshal(a.body, &tr); err != nil || a.kind != "response" || !tr.Status.Authenticated ||
		tr.Status.User.Username != "oidc:kim" || strings.Join(tr.Status.Audiences, ",") != audKube {
		t.Fatalf("answer %s %s", a.kind, a.body)
	}

	lines := strings.Split(strings.TrimSpace(p.stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout has %d lines, want 2 EMF documents:\n%s", len(lines), &p.stdout)
	}
	var fetch struct {
		Issuer                       string
		KeyFetches, KeyFetchFailures int
	}
	if err := json.Unmarshal([]byte(lines[0]), &fetch); err != nil || fetch.Issuer != f.iss.URL() || fetch.KeyFetches != 1 || fetch.KeyFetchFailures != 0 {
		t.Errorf("first EMF document %s, want the INIT fetch of %s", lines[0], f.iss.URL())
	}
	var review struct {
		Outcome, Reason string
		Reviews         int
	}
	if err := json.Unmarshal([]byte(lines[1]), &review); err != nil || review.Outcome != "authenticated" || review.Reason != "none" || review.Reviews != 1 {
		t.Errorf("second EMF document %s, want one authenticated review", lines[1])
	}
}
