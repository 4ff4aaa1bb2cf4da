package tokenreview

import (
	"bytes"
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/tokenreview/webhook/shared/decision"
	authenticationv1 "k8s.io/api/authentication/v1"
	authenticationv1beta1 "k8s.io/api/authentication/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

// The media types are encoded and decoded here with client-go's own
// codecs (kubernetes/scheme), independent of the package's serializer.
var (
	clientProtobuf = mustSerializer(runtime.ContentTypeProtobuf)
	clientDecoder  = scheme.Codecs.UniversalDeserializer()
)

func mustSerializer(mediaType string) runtime.Serializer {
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), mediaType)
	if !ok {
		panic("client-go has no serializer for " + mediaType)
	}
	return info.Serializer
}

// protoBody encodes obj as client-go would, with obj's TypeMeta in the
// envelope (none when obj's TypeMeta is empty).
func protoBody(t testing.TB, obj runtime.Object) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := clientProtobuf.Encode(obj, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func v1Review(token string, audiences ...string) *authenticationv1.TokenReview {
	return &authenticationv1.TokenReview{
		TypeMeta: metav1.TypeMeta{APIVersion: APIVersionV1, Kind: Kind},
		Spec:     authenticationv1.TokenReviewSpec{Token: token, Audiences: audiences},
	}
}

func apiRequest(path, contentType, accept string, body []byte) Request {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	if accept != "" {
		h.Set("Accept", accept)
	}
	return Request{Method: http.MethodPost, Path: path, Header: h, Body: body}
}

// TestMediaTypeRefusals: 406 and 415 on the API path, with
// kube-apiserver's messages, before the body is read or reviewed.
func TestMediaTypeRefusals(t *testing.T) {
	const (
		notAcceptable = "only the following media types are accepted: application/json, application/vnd.kubernetes.protobuf"
		unsupported   = "the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf"
	)
	cases := []struct {
		name, path, contentType, accept string
		wantCode                        int
		reason, message, problem        string
	}{
		{"text/plain body", APIPathV1, "text/plain", "", 415, "UnsupportedMediaType", unsupported, `unsupported Content-Type "text/plain"`},
		{"yaml body", APIPathV1beta1, "application/yaml", "application/json", 415, "UnsupportedMediaType", unsupported, `unsupported Content-Type "application/yaml"`},
		{"cbor body", APIPathV1, "application/cbor", "", 415, "UnsupportedMediaType", unsupported, `unsupported Content-Type "application/cbor"`},
		{"malformed Content-Type", APIPathV1, "application/json; =", "", 415, "UnsupportedMediaType", unsupported, `unsupported Content-Type "application/json; ="`},
		{"protobuf stream type", APIPathV1, "application/vnd.kubernetes.protobuf;stream=watch", "", 201, "", "", ""},
		{"yaml only", APIPathV1, "application/json", "application/yaml", 406, "NotAcceptable", notAcceptable, `unsatisfiable Accept "application/yaml"`},
		{"html only", APIPathV1, "", "text/html, text/*", 406, "NotAcceptable", notAcceptable, `unsatisfiable Accept "text/html, text/*"`},
		{"Table conversion only", APIPathV1, "", "application/json;as=Table;v=v1;g=meta.k8s.io", 406, "NotAcceptable", notAcceptable, `unsatisfiable Accept "application/json;as=Table;v=v1;g=meta.k8s.io"`},
		{"Accept is checked before Content-Type", APIPathV1, "text/plain", "application/yaml", 406, "NotAcceptable", notAcceptable, `unsatisfiable Accept "application/yaml"`},
		{"webhook path ignores both", "/tokenreview", "text/plain", "application/yaml", 200, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rev := &fixedReviewer{res: alice}
			var events []Event
			h := &Handler{Reviewer: rev, Observe: func(_ context.Context, e Event) { events = append(events, e) }}
			body := []byte(v1Body)
			if tc.contentType == "application/vnd.kubernetes.protobuf;stream=watch" {
				body = protoBody(t, v1Review("tok.en.sig"))
			}
			resp := h.Serve(context.Background(), apiRequest(tc.path, tc.contentType, tc.accept, body))
			if tc.wantCode < 300 {
				if resp.StatusCode != tc.wantCode || resp.Header.Get("Content-Type") != MediaTypeJSON || rev.calls != 1 {
					t.Fatalf("status %d, Content-Type %q, %d reviews: %s", resp.StatusCode, resp.Header.Get("Content-Type"), rev.calls, resp.Body)
				}
				return
			}
			assertStatus(t, resp, tc.wantCode, tc.reason, tc.message)
			if rev.calls != 0 {
				t.Errorf("the reviewer ran on a refused request")
			}
			if len(events) != 1 || events[0].HTTPStatus != tc.wantCode || !events[0].APIPath || events[0].Problem != tc.problem {
				t.Errorf("events %+v", events)
			}
		})
	}
}

// TestAcceptNegotiation: the answer's media type for each Accept, as
// kube-apiserver would pick it; the request is JSON throughout.
func TestAcceptNegotiation(t *testing.T) {
	cases := []struct{ accept, want string }{
		{"", MediaTypeJSON},
		{"*/*", MediaTypeJSON},
		{"application/*", MediaTypeJSON},
		{"application/json", MediaTypeJSON},
		{"application/json; charset=utf-8", MediaTypeJSON},
		{"application/vnd.kubernetes.protobuf", MediaTypeProtobuf},
		{"application/vnd.kubernetes.protobuf,application/json", MediaTypeProtobuf}, // client-go's default
		{"application/vnd.kubernetes.protobuf, */*", MediaTypeProtobuf},
		{"application/json;q=0.5, application/vnd.kubernetes.protobuf", MediaTypeProtobuf},
		{"application/json, application/vnd.kubernetes.protobuf;q=0.9", MediaTypeJSON},
		{"application/yaml, application/vnd.kubernetes.protobuf;q=0.1", MediaTypeProtobuf},
		{"application/json;as=Table;v=v1;g=meta.k8s.io, application/vnd.kubernetes.protobuf;q=0.5", MediaTypeProtobuf},
	}
	for _, tc := range cases {
		t.Run(tc.accept, func(t *testing.T) {
			h := &Handler{Reviewer: &fixedReviewer{res: alice}}
			resp := h.Serve(context.Background(), apiRequest(APIPathV1, MediaTypeJSON, tc.accept, []byte(v1Body)))
			if resp.StatusCode != 201 || resp.Header.Get("Content-Type") != tc.want {
				t.Fatalf("status %d Content-Type %q, want 201 %q: %q", resp.StatusCode, resp.Header.Get("Content-Type"), tc.want, resp.Body)
			}
			obj, gvk, err := clientDecoder.Decode(resp.Body, nil, nil)
			if err != nil {
				t.Fatalf("client-go cannot decode the answer: %v", err)
			}
			if gvk.GroupVersion().String() != APIVersionV1 || gvk.Kind != Kind {
				t.Fatalf("answered %v", gvk)
			}
			if got := obj.(*authenticationv1.TokenReview).Status; !got.Authenticated || got.User.Username != "oidc:alice" {
				t.Fatalf("status %+v", got)
			}
		})
	}
}

// TestProtobufRequests: protobuf bodies on the API path, answered in the
// media type Accept asks, with exact status fields.
func TestProtobufRequests(t *testing.T) {
	wantV1 := authenticationv1.TokenReviewStatus{Authenticated: true, User: alice.User, Audiences: alice.Audiences}
	t.Run("v1 answered in protobuf", func(t *testing.T) {
		rev := &fixedReviewer{res: alice}
		h := &Handler{Reviewer: rev}
		resp := h.Serve(context.Background(), apiRequest(APIPathV1, MediaTypeProtobuf, "application/vnd.kubernetes.protobuf,application/json",
			protoBody(t, v1Review("tok.en.sig", "https://kubernetes.default.svc", "api"))))
		if resp.StatusCode != 201 || resp.Header.Get("Content-Type") != MediaTypeProtobuf {
			t.Fatalf("status %d Content-Type %q: %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Body)
		}
		got := &authenticationv1.TokenReview{}
		if _, _, err := clientDecoder.Decode(resp.Body, nil, got); err != nil {
			t.Fatal(err)
		}
		if got.APIVersion != APIVersionV1 || got.Kind != Kind || !reflect.DeepEqual(got.Status, wantV1) ||
			got.Spec.Token != "" || !reflect.DeepEqual(got.Spec.Audiences, []string{"https://kubernetes.default.svc", "api"}) {
			t.Fatalf("answer %+v", got)
		}
		if rev.token != "tok.en.sig" || !reflect.DeepEqual(rev.audiences, []string{"https://kubernetes.default.svc", "api"}) {
			t.Fatalf("reviewer got %q %v", rev.token, rev.audiences)
		}
		if bytes.Contains(resp.Body, []byte("tok.en.sig")) {
			t.Fatal("the token was echoed")
		}
	})
	t.Run("v1beta1 answered in JSON when Accept asks JSON", func(t *testing.T) {
		rev := &fixedReviewer{res: alice}
		h := &Handler{Reviewer: rev}
		body := protoBody(t, &authenticationv1beta1.TokenReview{
			TypeMeta: metav1.TypeMeta{APIVersion: APIVersionV1beta1, Kind: Kind},
			Spec:     authenticationv1beta1.TokenReviewSpec{Token: "tok.en.sig"},
		})
		resp := h.Serve(context.Background(), apiRequest(APIPathV1beta1, MediaTypeProtobuf, "application/json", body))
		if resp.StatusCode != 201 || resp.Header.Get("Content-Type") != MediaTypeJSON {
			t.Fatalf("status %d Content-Type %q: %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Body)
		}
		const want = `{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1beta1","metadata":{},"spec":{},` +
			`"status":{"authenticated":true,"user":{"username":"oidc:alice","uid":"u-1","groups":["oidc:dev"],"extra":{"example.org/team":["blue"]}},` +
			`"audiences":["https://kubernetes.default.svc"]}}`
		if string(resp.Body) != want {
			t.Fatalf("answer\n%s\nwant\n%s", resp.Body, want)
		}
		if rev.token != "tok.en.sig" || rev.audiences != nil {
			t.Fatalf("reviewer got %q %v", rev.token, rev.audiences)
		}
	})
	t.Run("envelope without TypeMeta takes the path's version", func(t *testing.T) {
		body := protoBody(t, &authenticationv1beta1.TokenReview{Spec: authenticationv1beta1.TokenReviewSpec{Token: "tok.en.sig"}})
		resp := (&Handler{Reviewer: &fixedReviewer{res: alice}}).Serve(context.Background(), apiRequest(APIPathV1beta1, MediaTypeProtobuf, MediaTypeProtobuf, body))
		got := &authenticationv1beta1.TokenReview{}
		if _, _, err := clientDecoder.Decode(resp.Body, nil, got); err != nil || resp.StatusCode != 201 {
			t.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		if got.APIVersion != APIVersionV1beta1 || !got.Status.Authenticated || got.Status.User.Username != "oidc:alice" {
			t.Fatalf("answer %+v", got)
		}
	})
	t.Run("denial with reasons", func(t *testing.T) {
		res := decision.Result{Outcome: decision.Denied, Reason: decision.Expired, Message: "token expired at 2020-01-01T00:00:00Z"}
		h := &Handler{Reviewer: &fixedReviewer{res: res}, DenialReasons: true}
		resp := h.Serve(context.Background(), apiRequest(APIPathV1, MediaTypeProtobuf, MediaTypeProtobuf, protoBody(t, v1Review("tok.en.sig"))))
		got := &authenticationv1.TokenReview{}
		if _, _, err := clientDecoder.Decode(resp.Body, nil, got); err != nil || resp.StatusCode != 201 {
			t.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		want := authenticationv1.TokenReviewStatus{Error: "expired: token expired at 2020-01-01T00:00:00Z"}
		if !reflect.DeepEqual(got.Status, want) {
			t.Fatalf("status %+v, want %+v", got.Status, want)
		}
	})
}

// TestProtobufRefusals: a bad protobuf body is a 400 with the same rules
// and messages as JSON, never reviewed.
func TestProtobufRefusals(t *testing.T) {
	good := protoBody(t, v1Review("tok.en.sig"))
	wrongKind := v1Review("tok.en.sig")
	wrongKind.Kind = "SelfSubjectReview"
	cases := []struct {
		name, path string
		body       []byte
		message    string
	}{
		{"version not matching the path", APIPathV1, protoBody(t, &authenticationv1beta1.TokenReview{
			TypeMeta: metav1.TypeMeta{APIVersion: APIVersionV1beta1, Kind: Kind},
			Spec:     authenticationv1beta1.TokenReviewSpec{Token: "x"},
		}), `apiVersion "authentication.k8s.io/v1beta1" in the body does not match "authentication.k8s.io/v1" of the request path`},
		{"wrong kind", APIPathV1, protoBody(t, wrongKind), `kind "SelfSubjectReview" is not supported; expected "TokenReview"`},
		{"empty token", APIPathV1, protoBody(t, v1Review("")), "spec.token is required and must not be empty"},
		{"empty body", APIPathV1, nil, "request body is empty; expected a TokenReview"},
		{"JSON sent as protobuf", APIPathV1, []byte(v1Body), "request body is not a valid protobuf TokenReview: provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"},
		{"prefix only", APIPathV1, good[:4], "request body is not a valid protobuf TokenReview: empty body"},
		{"truncated", APIPathV1beta1, good[:len(good)-3], "request body is not a valid protobuf TokenReview: unexpected EOF"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rev := &fixedReviewer{res: alice}
			resp := (&Handler{Reviewer: rev}).Serve(context.Background(), apiRequest(tc.path, MediaTypeProtobuf, "", tc.body))
			assertStatus(t, resp, 400, "BadRequest", tc.message)
			if rev.calls != 0 {
				t.Errorf("the reviewer ran on a refused request")
			}
		})
	}
}
