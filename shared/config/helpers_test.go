package config

import (
	"errors"
	"strings"
	"testing"
)

// Document builders for the table tests: flow-style YAML keeps one case on
// a few lines.
const (
	kubeHead    = "apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\n"
	webhookHead = "apiVersion: tokenreview.dev/v1alpha1\nkind: WebhookConfiguration\n"
	// okMapping is a valid username mapping.
	okMapping = `claimMappings: {username: {claim: sub, prefix: ""}}`
)

// kubeDoc is a kube AuthenticationConfiguration holding the given jwt entries.
func kubeDoc(entries ...string) string {
	return kubeHead + "jwt:\n" + strings.Join(entries, "\n") + "\n"
}

// webhookDoc is a WebhookConfiguration with extra top-level YAML and the
// given jwt entries.
func webhookDoc(top string, entries ...string) string {
	return webhookHead + top + "\njwt:\n" + strings.Join(entries, "\n") + "\n"
}

// issuerEntry is one jwt entry with the issuer fields and entry fields
// added to a valid base.
func issuerEntry(issuerFields, entryFields string) string {
	s := `- {issuer: {url: "https://issuer.example.com", audiences: [a]` + issuerFields + `}`
	if !strings.Contains(entryFields, "claimMappings") && !strings.Contains(entryFields, "kubernetesServiceAccount") {
		s += ", " + okMapping
	}
	return s + entryFields + "}"
}

// loadLines loads doc and returns the error's lines (nil on success),
// checking that a rule error is a *ValidationError.
func loadLines(t *testing.T, doc string) []string {
	t.Helper()
	_, err := Load([]byte(doc))
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return []string{"plain: " + err.Error()}
	}
	return strings.Split(err.Error(), "\n")
}

func assertLines(t *testing.T, doc string, want []string) {
	t.Helper()
	got := loadLines(t, doc)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Load errors:\n got:\n  %s\nwant:\n  %s\ndoc:\n%s", strings.Join(got, "\n  "), strings.Join(want, "\n  "), doc)
	}
}
