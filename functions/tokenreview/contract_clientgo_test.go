package main

import (
	"context"
	"reflect"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authenticationv1beta1 "k8s.io/api/authentication/v1beta1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestClientGoAPIPathContract creates TokenReviews through the Kubernetes
// API paths with client-go's typed clients, as against a cluster.
func TestClientGoAPIPathContract(t *testing.T) {
	f := newFixture(t)
	srv := startTLSServe(t, f.config)
	// client-go's generated clients for built-in types send protobuf
	// unless told otherwise; the webhook speaks JSON (the API path's
	// protobuf case is pinned in "default protobuf" below).
	newClient := func(token string) *kubernetes.Clientset {
		cs, err := kubernetes.NewForConfig(&rest.Config{
			Host:            srv.url,
			TLSClientConfig: rest.TLSClientConfig{CAData: srv.caPEM},
			BearerToken:     token,
			ContentConfig:   rest.ContentConfig{ContentType: "application/json"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	cs := newClient(endpointToken)
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

	t.Run("v1", func(t *testing.T) {
		got, err := cs.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: f.token("carol", []string{audOther, audKube}, time.Hour), Audiences: []string{audKube}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := authenticationv1.TokenReviewStatus{Authenticated: true, User: wantUser, Audiences: []string{audKube}}
		if !reflect.DeepEqual(got.Status, want) {
			t.Errorf("status =\n%#v\nwant\n%#v", got.Status, want)
		}
		if got.Spec.Token != "" {
			t.Error("the answer echoes spec.token")
		}
	})

	t.Run("v1beta1", func(t *testing.T) {
		got, err := cs.AuthenticationV1beta1().TokenReviews().Create(ctx, &authenticationv1beta1.TokenReview{
			Spec: authenticationv1beta1.TokenReviewSpec{Token: f.token("carol", audOther, time.Hour)},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := authenticationv1beta1.TokenReviewStatus{
			Authenticated: true,
			User: authenticationv1beta1.UserInfo{
				Username: wantUser.Username, UID: wantUser.UID, Groups: wantUser.Groups,
				Extra: map[string]authenticationv1beta1.ExtraValue{
					tenantKey: {"blue"},
					"authentication.kubernetes.io/credential-id": {"JTI=jti-carol"},
				},
			},
			Audiences: []string{audOther},
		}
		if !reflect.DeepEqual(got.Status, want) {
			t.Errorf("status =\n%#v\nwant\n%#v", got.Status, want)
		}
	})

	t.Run("v1 denied", func(t *testing.T) {
		got, err := cs.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: f.token("carol", audKube, time.Hour), Audiences: []string{"elsewhere"}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Authenticated || !reflect.DeepEqual(got.Status.User, authenticationv1.UserInfo{}) || got.Status.Audiences != nil {
			t.Errorf("status = %#v, want a bare denial", got.Status)
		}
		const wantErr = `audience_mismatch: token audiences https://kubernetes.default.svc do not include one of the issuer's ["https://kubernetes.default.svc" "other-audience"] that is also requested in ["elsewhere"]`
		if got.Status.Error != wantErr {
			t.Errorf("status.error =\n%s\nwant\n%s", got.Status.Error, wantErr)
		}
	})

}

// TestClientGoAPIPathRefusals: what client-go sees when the webhook
// refuses the call.
func TestClientGoAPIPathRefusals(t *testing.T) {
	f := newFixture(t)
	srv := startTLSServe(t, f.config)
	ctx := context.Background()
	newClient := func(token string) *kubernetes.Clientset {
		cs, err := kubernetes.NewForConfig(&rest.Config{
			Host:            srv.url,
			TLSClientConfig: rest.TLSClientConfig{CAData: srv.caPEM},
			BearerToken:     token,
			ContentConfig:   rest.ContentConfig{ContentType: "application/json"},
		})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}

	t.Run("default protobuf", func(t *testing.T) {
		// Pins today's behaviour: a protobuf body is refused with a 400,
		// never misread. (Accepting protobuf is shared/tokenreview's call.)
		proto, err := kubernetes.NewForConfig(&rest.Config{
			Host: srv.url, TLSClientConfig: rest.TLSClientConfig{CAData: srv.caPEM}, BearerToken: endpointToken,
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = proto.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: f.token("carol", audKube, time.Hour)},
		}, metav1.CreateOptions{})
		if !apierrors.IsBadRequest(err) {
			t.Fatalf("err = %v, want 400", err)
		}
	})

	t.Run("wrong endpoint token", func(t *testing.T) {
		_, err := newClient("wrong-endpoint-token-0123456789abcdef").AuthenticationV1().TokenReviews().Create(ctx,
			&authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: f.token("carol", audKube, time.Hour)}}, metav1.CreateOptions{})
		if !apierrors.IsUnauthorized(err) {
			t.Fatalf("err = %v, want 401 Unauthorized", err)
		}
	})
}
