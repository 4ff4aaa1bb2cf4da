package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// repeatCases presents the same token twice within kube-apiserver's fixed
// 10-second success cache. A success is cached by A: the webhook sees it
// once. A denial carrying status.error (webhook.reportDenialReasons,
// default true) is not: the webhook sees it every time.
func (e *env) repeatCases(t *testing.T, a *apiserver) {
	ok := e.mintB(t, allowedNS, readerSA, audienceA)
	e.expectReader(t, a, ok)
	before := e.hook.metrics(t)
	if _, err := e.present(t, a, ok).AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("repeated good token: %v", err)
	}
	if got := sumReviews(e.hook.metrics(t)) - sumReviews(before); got != 0 {
		t.Fatalf("repeated good token reached the webhook %v times, want 0 (A's cache)", got)
	}

	bad := e.mintB(t, allowedNS, readerSA, otherAud)
	e.expectRefused(t, a, bad, "audience_mismatch")
	e.expectRefused(t, a, bad, "audience_mismatch")
}

// expectEndpointAuth calls the webhook directly, as a caller that is not A:
// without the bearer token, or with a wrong one, it answers 401 before
// reading the body, and counts no review.
func (e *env) expectEndpointAuth(t *testing.T) {
	t.Helper()
	token := e.mintB(t, allowedNS, readerSA, audienceA)
	e.presented = append(e.presented, token[strings.LastIndexByte(token, '.')+1:])
	body, err := json.Marshal(map[string]any{
		"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
		"spec": map[string]any{"token": token, "audiences": []string{audienceA}},
	})
	if err != nil {
		t.Fatalf("marshal review: %v", err)
	}
	before := e.hook.metrics(t)
	for _, bearer := range []string{"", "not-the-token"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.hook.url+"/tokenreview", bytes.NewReader(body))
		if err != nil {
			cancel()
			t.Fatalf("request: %v", err)
		}
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := e.hook.client.Do(req)
		cancel()
		if err != nil {
			t.Fatalf("POST /tokenreview: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("POST /tokenreview with bearer %q: %s, want 401", bearer, resp.Status)
		}
	}
	if got := sumReviews(e.hook.metrics(t)) - sumReviews(before); got != 0 {
		t.Fatalf("unauthenticated callers caused %v reviews, want 0", got)
	}
}
