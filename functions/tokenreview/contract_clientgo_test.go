package main

import (
	"context"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authenticationv1beta1 "k8s.io/api/authentication/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	mediaJSON     = "application/json"
	mediaProtobuf = "application/vnd.kubernetes.protobuf"
)

// wireLog records the Content-Type of each request client-go sent and of
// each response it read, so a test can prove which media type was used.
type wireLog struct {
	mu        sync.Mutex
	requests  []string
	responses []string
}

// record sends r through next and logs both Content-Types.
func (l *wireLog) record(next http.RoundTripper, r *http.Request) (*http.Response, error) {
	resp, err := next.RoundTrip(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = append(l.requests, r.Header.Get("Content-Type"))
	if resp != nil {
		l.responses = append(l.responses, resp.Header.Get("Content-Type"))
	}
	return resp, err
}

// last returns the Content-Types of the last request and response.
func (l *wireLog) last() (request, response string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.requests) > 0 {
		request = l.requests[len(l.requests)-1]
	}
	if len(l.responses) > 0 {
		response = l.responses[len(l.responses)-1]
	}
	return request, response
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// newClientGo returns a clientset for srv with client-go's defaults when
// contentType is "" (protobuf for built-in types), else forcing
// contentType, and the log of what went over the wire.
func newClientGo(t *testing.T, srv *server, token, contentType string) (*kubernetes.Clientset, *wireLog) {
	t.Helper()
	log := &wireLog{}
	cs, err := kubernetes.NewForConfig(&rest.Config{
		Host:            srv.url,
		TLSClientConfig: rest.TLSClientConfig{CAData: srv.caPEM},
		BearerToken:     token,
		ContentConfig:   rest.ContentConfig{ContentType: contentType},
		WrapTransport: func(next http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) { return log.record(next, r) })
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cs, log
}

// TestClientGoAPIPathContract creates TokenReviews through the Kubernetes
// API paths with client-go's typed clients, as against a cluster: with
// client-go's default content type (protobuf, for built-in types) and with
// JSON forced.
func TestClientGoAPIPathContract(t *testing.T) {
	f := newFixture(t)
	srv := startTLSServe(t, f.config)
	ctx := context.Background()
	wantUser := authenticationv1.UserInfo{
		Username: "oidc:carol",
		UID:      "uid-carol",
		Groups:   []string{"oidc:dev", "oidc:ops"},
		Extra: map[string]authenticationv1.ExtraValue{
			tenantKey: {"blue"},
			"authentication.kubernetes.io/credential-id": {"JTI=jti-carol"},
		},
	}
	wantUserV1beta1 := authenticationv1beta1.UserInfo{
		Username: wantUser.Username, UID: wantUser.UID, Groups: wantUser.Groups,
		Extra: map[string]authenticationv1beta1.ExtraValue{
			tenantKey: {"blue"},
			"authentication.kubernetes.io/credential-id": {"JTI=jti-carol"},
		},
	}

	for _, mode := range []struct{ name, contentType, wire string }{
		{"default protobuf", "", mediaProtobuf},
		{"json", mediaJSON, mediaJSON},
	} {
		cs, log := newClientGo(t, srv, endpointToken, mode.contentType)
		assertWire := func(t *testing.T) {
			t.Helper()
			if req, resp := log.last(); req != mode.wire || resp != mode.wire {
				t.Errorf("request Content-Type %q, response Content-Type %q, want %q for both", req, resp, mode.wire)
			}
		}

		t.Run(mode.name+"/v1", func(t *testing.T) {
			got, err := cs.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
				Spec: authenticationv1.TokenReviewSpec{Token: f.token("carol", []string{audOther, audKube}, time.Hour), Audiences: []string{audKube}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			assertWire(t)
			want := authenticationv1.TokenReviewStatus{Authenticated: true, User: wantUser, Audiences: []string{audKube}}
			if !reflect.DeepEqual(got.Status, want) {
				t.Errorf("status =\n%#v\nwant\n%#v", got.Status, want)
			}
			if got.Spec.Token != "" {
				t.Error("the answer echoes spec.token")
			}
		})

		t.Run(mode.name+"/v1beta1", func(t *testing.T) {
			got, err := cs.AuthenticationV1beta1().TokenReviews().Create(ctx, &authenticationv1beta1.TokenReview{
				Spec: authenticationv1beta1.TokenReviewSpec{Token: f.token("carol", audOther, time.Hour)},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			assertWire(t)
			want := authenticationv1beta1.TokenReviewStatus{Authenticated: true, User: wantUserV1beta1, Audiences: []string{audOther}}
			if !reflect.DeepEqual(got.Status, want) {
				t.Errorf("status =\n%#v\nwant\n%#v", got.Status, want)
			}
			if got.Spec.Token != "" {
				t.Error("the answer echoes spec.token")
			}
		})

		t.Run(mode.name+"/v1 denied", func(t *testing.T) {
			got, err := cs.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
				Spec: authenticationv1.TokenReviewSpec{Token: f.token("carol", audKube, time.Hour), Audiences: []string{"elsewhere"}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			assertWire(t)
			want := authenticationv1.TokenReviewStatus{
				Error: `audience_mismatch: token audiences https://kubernetes.default.svc do not include one of the issuer's ["https://kubernetes.default.svc" "other-audience"] that is also requested in ["elsewhere"]`,
			}
			if !reflect.DeepEqual(got.Status, want) {
				t.Errorf("status =\n%#v\nwant\n%#v", got.Status, want)
			}
		})
	}
}

// TestClientGoAPIPathRefusals: what client-go sees when the webhook
// refuses the call. Refusals are JSON metav1.Status whatever the client
// accepts; client-go decodes them by the response's Content-Type.
func TestClientGoAPIPathRefusals(t *testing.T) {
	f := newFixture(t)
	srv := startTLSServe(t, f.config)
	ctx := context.Background()

	t.Run("default protobuf succeeds", func(t *testing.T) {
		cs, log := newClientGo(t, srv, endpointToken, "")
		got, err := cs.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: f.token("carol", audKube, time.Hour)},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("err = %v, want success", err)
		}
		if req, resp := log.last(); req != mediaProtobuf || resp != mediaProtobuf {
			t.Errorf("request Content-Type %q, response Content-Type %q, want protobuf", req, resp)
		}
		if !got.Status.Authenticated || got.Status.User.Username != "oidc:carol" || got.Status.Error != "" ||
			!reflect.DeepEqual(got.Status.Audiences, []string{audKube}) {
			t.Errorf("status = %#v", got.Status)
		}
	})

	for _, mode := range []struct{ name, contentType string }{{"default protobuf", ""}, {"json", mediaJSON}} {
		t.Run(mode.name+"/wrong endpoint token", func(t *testing.T) {
			cs, log := newClientGo(t, srv, "wrong-endpoint-token-0123456789abcdef", mode.contentType)
			_, err := cs.AuthenticationV1().TokenReviews().Create(ctx,
				&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: f.token("carol", audKube, time.Hour)}}, metav1.CreateOptions{})
			if !apierrors.IsUnauthorized(err) {
				t.Fatalf("err = %v, want 401 Unauthorized", err)
			}
			const wantMsg = "endpoint authentication failed: invalid bearer token"
			if st, ok := err.(apierrors.APIStatus); !ok || st.Status().Message != wantMsg {
				t.Errorf("err = %#v, want a decoded Status with message %q", err, wantMsg)
			}
			if _, resp := log.last(); resp != mediaJSON {
				t.Errorf("response Content-Type %q, want JSON", resp)
			}
		})
	}
}
