package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCLI runs one command in-process and returns its exit code and output.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := env{getenv: func(string) string { return "" }, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut}
	code = run(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

func TestValidateOK(t *testing.T) {
	f := newFixture(t)
	code, out, errOut := runCLI(t, "", "validate", "--config", f.config)
	if code != exitOK || out != "ok: 1 issuer\n" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0, %q", code, out, errOut, "ok: 1 issuer\n")
	}
}

func TestValidateStructuralProblems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte(`apiVersion: tokenreview.dev/v1alpha1
kind: WebhookConfiguration
jwt:
- issuer:
    url: http://insecure.example
    audiences: []
  claimMappings:
    username: {claim: sub, prefix: ""}
  algorithms: [HS256]
webhook:
  authentication:
    bearerTokens: [short]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "validate", "--config", path)
	want := path + `: 4 problems:
  webhook.authentication.bearerTokens[0]: Invalid value: must be at least 32 characters
  jwt[0].issuer.url: Invalid value: "http://insecure.example": URL scheme must be https
  jwt[0].issuer.audiences: Required value: at least one jwt[0].issuer.audiences is required
  jwt[0].algorithms[0]: Invalid value: "HS256": never allowed: HMAC needs a shared secret, and with a public key taken as the secret anyone could sign tokens
`
	if code != exitFail || out != want || errOut != "" {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit 1 and:\n%s", code, errOut, out, want)
	}
}

func TestValidateCELProblems(t *testing.T) {
	f := newFixture(t)
	path := f.writeConfig(t, "cel.yaml", `  claimValidationRules:
  - expression: "claims.sub =="
    message: broken
  userValidationRules:
  - expression: "user.username"
    message: not a bool
`)
	code, out, errOut := runCLI(t, "", "validate", "--config", path)
	// The CEL compiler's own message (after "compilation failed: ") spans
	// lines; validate indents its continuation under the problem.
	want := path + `: 2 problems:
  jwt[0].claimValidationRules[0].expression: Invalid value: "claims.sub ==": compilation failed: ERROR: <input>:1:14: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}
     | claims.sub ==
     | .............^
  jwt[0].userValidationRules[0].expression: Invalid value: "user.username": must evaluate to bool
`
	if code != exitFail || errOut != "" || out != want {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit 1 and:\n%s", code, errOut, out, want)
	}
}

func TestValidateUsage(t *testing.T) {
	code, out, errOut := runCLI(t, "", "validate")
	if code != exitError || out != "" || errOut != "usage: tokenreview validate --config FILE\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "validate", "--config", "/nonexistent.yaml")
	if code != exitFail || out != "/nonexistent.yaml: open /nonexistent.yaml: no such file or directory\n" {
		t.Errorf("exit %d, stdout %q", code, out)
	}
}

func TestReviewAuthenticated(t *testing.T) {
	f := newFixture(t)
	tok := f.token("dave", []string{audKube, audOther}, time.Hour)
	code, out, errOut := runCLI(t, "", "review", "--config", f.config, "--audience", audOther, tok)
	want := fmt.Sprintf(`{
  "authenticated": true,
  "user": {
    "username": "oidc:dave",
    "uid": "uid-dave",
    "groups": [
      "oidc:dev",
      "oidc:ops"
    ],
    "extra": {
      "authentication.kubernetes.io/credential-id": [
        "JTI=jti-dave"
      ],
      "example.com/tenant": [
        "blue"
      ]
    }
  },
  "audiences": [
    "other-audience"
  ]
}

outcome:              authenticated
issuer:               %s
kid:                  test-rs256
alg:                  RS256
user:                 oidc:dave
uid:                  uid-dave
groups:               oidc:dev, oidc:ops
extra authentication.kubernetes.io/credential-id: JTI=jti-dave
extra example.com/tenant: blue
accepted audiences:   other-audience
requested audiences:  other-audience
`, f.iss.URL())
	if code != exitOK || out != want || errOut != "" {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit 0 and:\n%s", code, errOut, out, want)
	}

	// The same token from stdin.
	code, out2, _ := runCLI(t, tok+"\n", "review", "--config", f.config, "--audience", audOther, "-")
	if code != exitOK || out2 != want {
		t.Errorf("from stdin: exit %d, stdout:\n%s", code, out2)
	}
}

func TestReviewDenied(t *testing.T) {
	f := newFixture(t)
	code, out, errOut := runCLI(t, "", "review", "--config", f.config, f.token("erin", "somewhere-else", time.Hour))
	want := fmt.Sprintf(`{
  "user": {},
  "error": "audience_mismatch: token audiences somewhere-else do not include one of [\"https://kubernetes.default.svc\" \"other-audience\"]"
}

outcome:              denied
reason:               audience_mismatch
detail:               token audiences somewhere-else do not include one of ["https://kubernetes.default.svc" "other-audience"]
issuer:               %s
kid:                  test-rs256
alg:                  RS256
issuer audiences:     https://kubernetes.default.svc, other-audience
`, f.iss.URL())
	if code != exitFail || out != want || errOut != "" {
		t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit 1 and:\n%s", code, errOut, out, want)
	}
}

func TestReviewUnavailable(t *testing.T) {
	f := newFixture(t)
	tok := f.token("frank", audKube, time.Hour)
	f.iss.Close() // the keys can never be fetched
	code, out, errOut := runCLI(t, "", "review", "--config", f.config, tok)
	wantHead := `{
  "user": {},
  "error": "keys_unavailable: `
	wantTail := fmt.Sprintf(`
issuer:               %s
kid:                  test-rs256
alg:                  RS256
issuer audiences:     https://kubernetes.default.svc, other-audience
`, f.iss.URL())
	if code != exitError || !strings.HasPrefix(out, wantHead) || !strings.HasSuffix(out, wantTail) ||
		!strings.Contains(out, "\noutcome:              unavailable\nreason:               keys_unavailable\n") {
		t.Errorf("exit %d, stdout:\n%s\nwant exit 2, unavailable, keys_unavailable", code, out)
	}
	if !strings.Contains(errOut, `"level":"WARN"`) || strings.Contains(errOut, "eyJ") {
		t.Errorf("stderr should hold the key-fetch warning and no token:\n%s", errOut)
	}
}

func TestReviewErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, stdin string
		args        []string
		wantErr     string
	}{
		{"no token", "", []string{"review", "--config", f.config}, "usage: tokenreview review --config FILE [--audience A]... TOKEN|-\n"},
		{"empty stdin", " \n", []string{"review", "--config", f.config, "-"}, "review: no token on stdin\n"},
		{"missing config", "", []string{"review", "--config", "/nonexistent.yaml", "x.y.z"}, "read configuration: open /nonexistent.yaml: no such file or directory\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.stdin, tc.args...)
			if code != exitError || out != "" || errOut != tc.wantErr {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, %q", code, out, errOut, tc.wantErr)
			}
		})
	}
}

func TestValidateKubeAuthenticationConfiguration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kube.yaml")
	if err := os.WriteFile(path, []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: https://issuer.example.com
    audiences: [my-cluster]
  claimMappings:
    username: {expression: "'oidc:' + claims.sub"}
    groups: {claim: groups, prefix: "oidc:"}
- issuer:
    url: https://other.example.com
    audiences: [my-cluster]
  claimMappings:
    username: {claim: email, prefix: ""}
  claimValidationRules:
  - expression: "claims.email_verified == true"
    message: email must be verified
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "validate", "--config", path)
	if code != exitOK || out != "ok: 2 issuers\n" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0, %q", code, out, errOut, "ok: 2 issuers\n")
	}
}
