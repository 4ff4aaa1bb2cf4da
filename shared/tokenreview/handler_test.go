package tokenreview

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/endpointauth"
	authenticationv1 "k8s.io/api/authentication/v1"
)

// fixedReviewer answers every review with one Result and records what it
// was asked. The real verifier is exercised by shared/lambdaevent's tests;
// here the Result must be chosen freely (unavailable, panics).
type fixedReviewer struct {
	res   decision.Result
	panic any

	mu        sync.Mutex
	calls     int
	token     string
	audiences []string
}

func (f *fixedReviewer) Review(_ context.Context, token string, audiences []string) decision.Result {
	f.mu.Lock()
	f.calls++
	f.token, f.audiences = token, audiences
	f.mu.Unlock()
	if f.panic != nil {
		panic(f.panic)
	}
	return f.res
}

var alice = decision.Result{
	Outcome: decision.Authenticated,
	User: authenticationv1.UserInfo{
		Username: "oidc:alice",
		UID:      "u-1",
		Groups:   []string{"oidc:dev"},
		Extra:    map[string]authenticationv1.ExtraValue{"example.org/team": {"blue"}},
	},
	Audiences: []string{"https://kubernetes.default.svc"},
}

const (
	v1Body      = `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"token":"tok.en.sig","audiences":["https://kubernetes.default.svc","api"]},"status":{"user":{}}}`
	v1beta1Body = `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1beta1","metadata":{},"spec":{"token":"tok.en.sig","audiences":["https://kubernetes.default.svc"]},"status":{"user":{}}}`
)

func post(path, body string) Request {
	return Request{Method: http.MethodPost, Path: path, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

// wireStatus is what kube-apiserver reads of a response, with
// authenticated kept as a pointer-free bool (absent means false).
type wireReview struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Token     string   `json:"token"`
		Audiences []string `json:"audiences"`
	} `json:"spec"`
	Status struct {
		Authenticated bool                      `json:"authenticated"`
		User          authenticationv1.UserInfo `json:"user"`
		Audiences     []string                  `json:"audiences"`
		Error         string                    `json:"error"`
	} `json:"status"`
}

type wireStatus struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Status     string `json:"status"`
	Message    string `json:"message"`
	Reason     string `json:"reason"`
	Code       int    `json:"code"`
}

func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("response body is not JSON: %v\n%s", err, b)
	}
}

func TestReviewEchoesVersion(t *testing.T) {
	cases := []struct {
		name, path, body, wantVersion string
		wantCode                      int
	}{
		{"v1 webhook path", "/tokenreview", v1Body, APIVersionV1, 200},
		{"v1beta1 webhook path", "/tokenreview", v1beta1Body, APIVersionV1beta1, 200},
		{"v1 root path", "/", v1Body, APIVersionV1, 200},
		{"no apiVersion or kind is v1", "/tokenreview", `{"spec":{"token":"tok.en.sig","audiences":["https://kubernetes.default.svc","api"]}}`, APIVersionV1, 200},
		{"v1 API path", APIPathV1, v1Body, APIVersionV1, 201},
		{"v1beta1 API path", APIPathV1beta1, v1beta1Body, APIVersionV1beta1, 201},
		{"API path behind a stage prefix", "/prod" + APIPathV1, v1Body, APIVersionV1, 201},
		{"API path without apiVersion takes the path's", APIPathV1beta1, `{"spec":{"token":"tok.en.sig"}}`, APIVersionV1beta1, 201},
		{"unknown fields are tolerated", "/tokenreview", `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":"tok.en.sig","future":1},"extra":true}`, APIVersionV1, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rev := &fixedReviewer{res: alice}
			h := &Handler{Reviewer: rev}
			resp := h.Serve(context.Background(), post(tc.path, tc.body))
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantCode, resp.Body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var got wireReview
			decodeStrict(t, resp.Body, &got)
			if got.APIVersion != tc.wantVersion || got.Kind != "TokenReview" {
				t.Errorf("answered %s %s, want %s TokenReview", got.APIVersion, got.Kind, tc.wantVersion)
			}
			if !got.Status.Authenticated || got.Status.Error != "" {
				t.Errorf("status %+v, want authenticated without error", got.Status)
			}
			if got.Status.User.Username != "oidc:alice" || got.Status.User.UID != "u-1" ||
				strings.Join(got.Status.User.Groups, ",") != "oidc:dev" ||
				strings.Join(got.Status.User.Extra["example.org/team"], ",") != "blue" {
				t.Errorf("user %+v", got.Status.User)
			}
			if strings.Join(got.Status.Audiences, ",") != "https://kubernetes.default.svc" {
				t.Errorf("audiences %v", got.Status.Audiences)
			}
			if got.Spec.Token != "" || strings.Contains(string(resp.Body), "tok.en.sig") {
				t.Errorf("the token was echoed: %s", resp.Body)
			}
			if rev.calls != 1 || rev.token != "tok.en.sig" {
				t.Errorf("reviewer called %d times with token %q", rev.calls, rev.token)
			}
		})
	}
}

func TestReviewPassesAudiences(t *testing.T) {
	rev := &fixedReviewer{res: alice}
	h := &Handler{Reviewer: rev}
	h.Serve(context.Background(), post("/tokenreview", v1Body))
	if strings.Join(rev.audiences, ",") != "https://kubernetes.default.svc,api" {
		t.Fatalf("reviewer got audiences %v", rev.audiences)
	}
	h.Serve(context.Background(), post("/tokenreview", v1beta1Body))
	if strings.Join(rev.audiences, ",") != "https://kubernetes.default.svc" {
		t.Fatalf("reviewer got audiences %v (v1beta1)", rev.audiences)
	}
}

func TestDecisionsAnd200(t *testing.T) {
	denied := decision.Result{Outcome: decision.Denied, Reason: decision.Expired, Message: "token expired at 2020-01-01T00:00:00Z"}
	unavailable := decision.Result{Outcome: decision.Unavailable, Reason: decision.KeysUnavailable, Message: "keys of https://issuer.example were never fetched"}
	cases := []struct {
		name          string
		res           decision.Result
		denialReasons bool
		wantError     string
	}{
		{"denied with reasons", denied, true, "expired: token expired at 2020-01-01T00:00:00Z"},
		{"denied without reasons is cacheable", denied, false, ""},
		{"unavailable always carries error", unavailable, false, "keys_unavailable: keys of https://issuer.example were never fetched"},
		{"unavailable with reasons", unavailable, true, "keys_unavailable: keys of https://issuer.example were never fetched"},
		{"unknown outcome fails closed and uncached", decision.Result{Outcome: decision.Outcome(42)}, false, "internal_error: unknown review outcome 42"},
		{"an unset result fails closed and uncached", decision.Result{}, false, "internal_error: unknown review outcome 0"},
		{"denial without message", decision.Result{Outcome: decision.Denied, Reason: decision.Malformed}, true, "malformed"},
	}
	for _, tc := range cases {
		for _, body := range []string{v1Body, v1beta1Body} {
			t.Run(tc.name, func(t *testing.T) {
				h := &Handler{Reviewer: &fixedReviewer{res: tc.res}, DenialReasons: tc.denialReasons}
				resp := h.Serve(context.Background(), post("/tokenreview", body))
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
				}
				var got wireReview
				decodeStrict(t, resp.Body, &got)
				if got.Status.Authenticated {
					t.Errorf("authenticated")
				}
				if got.Status.Error != tc.wantError {
					t.Errorf("error %q, want %q", got.Status.Error, tc.wantError)
				}
				if got.Status.User.Username != "" || len(got.Status.Audiences) != 0 {
					t.Errorf("a denial carries user %+v audiences %v", got.Status.User, got.Status.Audiences)
				}
			})
		}
	}
}

func TestRefusals(t *testing.T) {
	big := `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":"` + strings.Repeat("a", MaxBodyBytes) + `"}}`
	cases := []struct {
		name     string
		req      Request
		wantCode int
		reason   string
		message  string
	}{
		{"GET", Request{Method: http.MethodGet, Path: "/tokenreview"}, 405, "MethodNotAllowed", "method GET is not allowed; use POST"},
		{"PUT on API path", Request{Method: http.MethodPut, Path: APIPathV1, Body: []byte(v1Body)}, 405, "MethodNotAllowed", "method PUT is not allowed; use POST"},
		{"over-size", post("/tokenreview", big), 413, "RequestEntityTooLarge", "request body is larger than 1048576 bytes"},
		{"empty body", post("/tokenreview", ""), 400, "BadRequest", "request body is empty; expected a TokenReview"},
		{"not JSON", post("/tokenreview", "token=abc"), 400, "BadRequest", "request body is not valid JSON: invalid character 'o' in literal true (expecting 'r')"},
		{"truncated JSON", post("/tokenreview", `{"kind":"TokenReview"`), 400, "BadRequest", "request body is not valid JSON: unexpected end of JSON input"},
		{"JSON array", post("/tokenreview", `[1]`), 400, "BadRequest", "request body must be a JSON object, got array"},
		{"wrong kind", post("/tokenreview", `{"kind":"SubjectAccessReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":"x"}}`), 400, "BadRequest", `kind "SubjectAccessReview" is not supported; expected "TokenReview"`},
		{"wrong version", post("/tokenreview", `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v2","spec":{"token":"x"}}`), 400, "BadRequest", `apiVersion "authentication.k8s.io/v2" is not supported; expected "authentication.k8s.io/v1" or "authentication.k8s.io/v1beta1"`},
		{"version not matching the API path", post(APIPathV1, v1beta1Body), 400, "BadRequest", `apiVersion "authentication.k8s.io/v1beta1" in the body does not match "authentication.k8s.io/v1" of the request path`},
		{"missing token", post("/tokenreview", `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"audiences":["a"]}}`), 400, "BadRequest", "spec.token is required and must not be empty"},
		{"empty token v1beta1", post("/tokenreview", `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1beta1","spec":{"token":""}}`), 400, "BadRequest", "spec.token is required and must not be empty"},
		{"token of the wrong type", post("/tokenreview", `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":42}}`), 400, "BadRequest", "request body is not a valid TokenReview: spec.token must be of type string, got number"},
		{"kind of the wrong type", post("/tokenreview", `{"kind":1,"spec":{"token":"x"}}`), 400, "BadRequest", "request body is not a valid TokenReview: kind must be of type string, got number"},
		{"audiences of the wrong type", post("/tokenreview", `{"spec":{"token":"x","audiences":"a"}}`), 400, "BadRequest", "request body is not a valid TokenReview: spec.audiences must be of type []string, got string"},
		{"JSON string", post("/tokenreview", `"tok.en.sig"`), 400, "BadRequest", "request body must be a JSON object, got string"},
		{"trailing garbage", post("/tokenreview", v1Body+`x`), 400, "BadRequest", "request body is not valid JSON: invalid character 'x' after top-level value"},
		{"long kind is cut", post("/tokenreview", `{"kind":"`+strings.Repeat("K", 100)+`","spec":{"token":"x"}}`), 400, "BadRequest", `kind "` + strings.Repeat("K", 64) + `..." is not supported; expected "TokenReview"`},
		{"case-sensitive field names", post("/tokenreview", `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","Spec":{"Token":"x"}}`), 400, "BadRequest", "spec.token is required and must not be empty"},
		{"null body", post("/tokenreview", `null`), 400, "BadRequest", "spec.token is required and must not be empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rev := &fixedReviewer{res: alice}
			var events []Event
			h := &Handler{Reviewer: rev, Observe: func(_ context.Context, e Event) { events = append(events, e) }}
			resp := h.Serve(context.Background(), tc.req)
			assertStatus(t, resp, tc.wantCode, tc.reason, tc.message)
			if rev.calls != 0 {
				t.Errorf("the reviewer ran on a refused request")
			}
			if len(events) != 1 || events[0].HTTPStatus != tc.wantCode || events[0].Reviewed || events[0].Problem == "" {
				t.Errorf("events %+v", events)
			}
			if tc.wantCode == 405 && resp.Header.Get("Allow") != "POST" {
				t.Errorf("Allow %q", resp.Header.Get("Allow"))
			}
		})
	}
}

func assertStatus(t *testing.T, resp Response, code int, reason, message string) {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, code, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var st wireStatus
	decodeStrict(t, resp.Body, &st)
	want := wireStatus{Kind: "Status", APIVersion: "v1", Status: "Failure", Message: message, Reason: reason, Code: code}
	if st != want {
		t.Errorf("Status\n got %+v\nwant %+v", st, want)
	}
}

func TestEndpointAuthComesFirst(t *testing.T) {
	pol, err := endpointauth.New([]string{"s3cret-current", "s3cret-next"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		header  http.Header
		method  string
		body    string
		code    int
		message string
	}{
		{"no token, bad body, GET", http.Header{}, http.MethodGet, "garbage", 401, "endpoint authentication failed: missing bearer token"},
		{"wrong token, over-size body", http.Header{"Authorization": {"Bearer nope"}}, http.MethodPost, strings.Repeat("x", MaxBodyBytes+1), 401, "endpoint authentication failed: invalid bearer token"},
		{"Basic scheme", http.Header{"Authorization": {"Basic czNjcmV0LWN1cnJlbnQ="}}, http.MethodPost, v1Body, 401, "endpoint authentication failed: invalid bearer token"},
		{"current token", http.Header{"Authorization": {"Bearer s3cret-current"}}, http.MethodPost, v1Body, 200, ""},
		{"next token, lower-case scheme", http.Header{"Authorization": {"bearer s3cret-next"}}, http.MethodPost, v1Body, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rev := &fixedReviewer{res: alice}
			h := &Handler{Reviewer: rev, Auth: pol}
			resp := h.Serve(context.Background(), Request{Method: tc.method, Path: "/tokenreview", Header: tc.header, Body: []byte(tc.body)})
			if tc.code == 200 {
				if resp.StatusCode != 200 || rev.calls != 1 {
					t.Fatalf("status %d calls %d: %s", resp.StatusCode, rev.calls, resp.Body)
				}
				return
			}
			assertStatus(t, resp, tc.code, "Unauthorized", tc.message)
			if resp.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
			if strings.Contains(string(resp.Body), "s3cret") {
				t.Errorf("a configured token leaked: %s", resp.Body)
			}
		})
	}
}

func TestPanicIs500AndHandlerKeepsServing(t *testing.T) {
	rev := &fixedReviewer{panic: "boom"}
	var events []Event
	h := &Handler{Reviewer: rev, Observe: func(_ context.Context, e Event) { events = append(events, e) }}
	resp := h.Serve(context.Background(), post("/tokenreview", v1Body))
	assertStatus(t, resp, 500, "InternalError", "internal error while reviewing the token")
	if len(events) != 1 || events[0].HTTPStatus != 500 || events[0].Problem != "panic: boom" || len(events[0].Stack) == 0 ||
		events[0].Result.Outcome != decision.Unavailable || events[0].Result.Reason != decision.Internal {
		t.Fatalf("event %+v", events)
	}
	rev.panic = nil
	rev.res = alice
	if resp := h.Serve(context.Background(), post("/tokenreview", v1Body)); resp.StatusCode != 200 {
		t.Fatalf("after a panic: status %d", resp.StatusCode)
	}
	nilReviewer := &Handler{}
	assertStatus(t, nilReviewer.Serve(context.Background(), post("/tokenreview", v1Body)), 500, "InternalError", "internal error while reviewing the token")
}

func TestObserveEvent(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got []Event
	h := &Handler{
		Reviewer: &fixedReviewer{res: alice},
		Observe:  func(_ context.Context, e Event) { got = append(got, e) },
		Now: func() time.Time {
			clock = clock.Add(3 * time.Millisecond)
			return clock
		},
	}
	req := post(APIPathV1beta1, v1beta1Body)
	req.RequestID, req.Front = "req-1", "test"
	h.Serve(context.Background(), req)
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	e := got[0]
	if e.RequestID != "req-1" || e.Front != "test" || e.Method != "POST" || e.Path != APIPathV1beta1 || !e.APIPath ||
		e.APIVersion != APIVersionV1beta1 || !e.Reviewed || e.Result.User.Username != "oidc:alice" ||
		e.HTTPStatus != 201 || e.Problem != "" || e.Latency != 3*time.Millisecond ||
		strings.Join(e.RequestAudiences, ",") != "https://kubernetes.default.svc" {
		t.Fatalf("event %+v", e)
	}
}
