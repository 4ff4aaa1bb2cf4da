package tokenreview

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// FuzzServe feeds arbitrary bodies and paths to the handler: it must never
// panic or answer a 500, must always answer JSON with an allowed status
// code, and must never echo the token.
func FuzzServe(f *testing.F) {
	f.Add("/tokenreview", []byte(v1Body))
	f.Add(APIPathV1beta1, []byte(v1beta1Body))
	f.Add("/", []byte(`{"spec":{"token":"a","audiences":null}}`))
	f.Add(APIPathV1, []byte(`{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":"\u0000"}}`))
	f.Add("/x", []byte(`[{"spec":1}]`))
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		rev := &fixedReviewer{res: alice}
		h := &Handler{Reviewer: rev, DenialReasons: true}
		resp := h.Serve(context.Background(), Request{Method: http.MethodPost, Path: path, Header: http.Header{}, Body: body})
		switch resp.StatusCode {
		case http.StatusOK, http.StatusCreated, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d for %q", resp.StatusCode, body)
		}
		if !json.Valid(resp.Body) {
			t.Fatalf("answer is not JSON: %q", resp.Body)
		}
		if resp.StatusCode < 300 {
			if rev.calls != 1 || rev.token == "" {
				t.Fatalf("answered %d without one review of a non-empty token", resp.StatusCode)
			}
			tok, _ := json.Marshal(rev.token)
			if len(rev.token) >= 8 && bytes.Contains(resp.Body, tok[1:len(tok)-1]) {
				t.Fatalf("token echoed: %s", resp.Body)
			}
		} else if rev.calls != 0 {
			t.Fatalf("reviewed a refused request")
		}
	})
}

// BenchmarkServe measures the wire handling around a review (decode,
// encode, events), with a reviewer that costs nothing.
func BenchmarkServe(b *testing.B) {
	h := &Handler{Reviewer: &fixedReviewer{res: alice}, Observe: func(context.Context, Event) {}}
	req := post("/tokenreview", v1beta1Body)
	b.ReportAllocs()
	for b.Loop() {
		if resp := h.Serve(context.Background(), req); resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
}
