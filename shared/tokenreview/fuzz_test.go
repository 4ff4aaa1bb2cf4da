package tokenreview

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// FuzzServe feeds arbitrary bodies and paths to the handler, as JSON or
// (asProtobuf) as application/vnd.kubernetes.protobuf: it must never panic
// or answer a 500, must always answer JSON (no Accept is sent) with an
// allowed status code, and must never echo the token.
func FuzzServe(f *testing.F) {
	f.Add("/tokenreview", []byte(v1Body), false)
	f.Add(APIPathV1beta1, []byte(v1beta1Body), false)
	f.Add("/", []byte(`{"spec":{"token":"a","audiences":null}}`), false)
	f.Add(APIPathV1, []byte(`{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":"\u0000"}}`), false)
	f.Add("/x", []byte(`[{"spec":1}]`), false)
	f.Add(APIPathV1, protoBody(f, v1Review("tok.en.sig", "a", "b")), true)
	f.Add(APIPathV1beta1, protoBody(f, v1Review("tok.en.sig")), true)
	f.Add(APIPathV1, []byte("k8s\x00\x0a\x00\x12\x02\x0a\x00"), true)
	f.Fuzz(func(t *testing.T, path string, body []byte, asProtobuf bool) {
		rev := &fixedReviewer{res: alice}
		h := &Handler{Reviewer: rev, DenialReasons: true}
		header := http.Header{}
		if asProtobuf {
			header.Set("Content-Type", MediaTypeProtobuf)
		}
		resp := h.Serve(context.Background(), Request{Method: http.MethodPost, Path: path, Header: header, Body: body})
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
