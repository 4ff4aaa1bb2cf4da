package main

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	webhookutil "k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/apiserver/plugin/pkg/authenticator/token/webhook"
)

// kubeWebhook builds kube-apiserver's own webhook token authenticator the
// way kube-apiserver does: LoadKubeconfig on a kubeconfig FILE, then
// webhook.New with the version, the implicit (API) audiences and a
// backoff. One attempt only, so a failure shows at once.
func kubeWebhook(t *testing.T, kubeconfig, version string) *webhook.WebhookTokenAuthenticator {
	t.Helper()
	rc, err := webhookutil.LoadKubeconfig(kubeconfig, nil)
	if err != nil {
		t.Fatalf("LoadKubeconfig: %v", err)
	}
	wh, err := webhook.New(rc, version, authenticator.Audiences{audKube}, wait.Backoff{Duration: 10 * time.Millisecond, Factor: 1, Steps: 1})
	if err != nil {
		t.Fatalf("webhook.New(%s): %v", version, err)
	}
	return wh
}

// wantUser asserts every field of a user.Info.
func wantUser(t *testing.T, got user.Info, name, uid string, groups []string, extra map[string][]string) {
	t.Helper()
	if got.GetName() != name {
		t.Errorf("GetName() = %q, want %q", got.GetName(), name)
	}
	if got.GetUID() != uid {
		t.Errorf("GetUID() = %q, want %q", got.GetUID(), uid)
	}
	if !slices.Equal(got.GetGroups(), groups) {
		t.Errorf("GetGroups() = %q, want %q", got.GetGroups(), groups)
	}
	if !maps.EqualFunc(got.GetExtra(), extra, slices.Equal) {
		t.Errorf("GetExtra() = %q, want %q", got.GetExtra(), extra)
	}
}

func TestKubeWebhookClientContract(t *testing.T) {
	f := newFixture(t)
	srv := startTLSServe(t, f.config)
	kubeconfig := webhookKubeconfig(t, srv.url+"/tokenreview", srv.caPEM, endpointToken)

	for _, version := range []string{"v1", "v1beta1"} {
		t.Run(version, func(t *testing.T) {
			wh := kubeWebhook(t, kubeconfig, version)
			sub := "alice-" + version
			wantExtra := map[string][]string{
				tenantKey: {"blue"},
				"authentication.kubernetes.io/credential-id": {"JTI=jti-" + sub},
			}

			t.Run("no audiences in context", func(t *testing.T) {
				resp, ok, err := wh.AuthenticateToken(context.Background(), f.token(sub, audKube, time.Hour))
				if err != nil || !ok {
					t.Fatalf("ok=%v err=%v, want authenticated", ok, err)
				}
				wantUser(t, resp.User, "oidc:"+sub, "uid-"+sub, []string{"oidc:dev", "oidc:ops"}, wantExtra)
				if resp.Audiences != nil {
					t.Errorf("Audiences = %q, want none (the context asked for none)", resp.Audiences)
				}
				// The webhook saw the version the client was built for.
				want := `"api_version":"authentication.k8s.io/` + version + `","front":"local","issuer":"` + f.iss.URL()
				if !strings.Contains(srv.stderr.String(), want) {
					t.Errorf("no review logged with %s:\n%s", want, srv.stderr)
				}
			})

			t.Run("with audiences", func(t *testing.T) {
				// The token is for both audiences; the request names
				// audOther and a third one: the webhook answers
				// status.audiences [audOther], which the client intersects
				// with what it asked for.
				ctx := authenticator.WithAudiences(context.Background(), authenticator.Audiences{audOther, "unrelated"})
				resp, ok, err := wh.AuthenticateToken(ctx, f.token(sub, []string{audKube, audOther}, time.Hour))
				if err != nil || !ok {
					t.Fatalf("ok=%v err=%v, want authenticated", ok, err)
				}
				wantUser(t, resp.User, "oidc:"+sub, "uid-"+sub, []string{"oidc:dev", "oidc:ops"}, wantExtra)
				if !slices.Equal(resp.Audiences, authenticator.Audiences{audOther}) {
					t.Errorf("Audiences = %q, want [%s]", resp.Audiences, audOther)
				}
			})

			t.Run("audience not requested", func(t *testing.T) {
				// A token only for audKube, reviewed for audOther: denied
				// with audience_mismatch. With status.audiences empty the
				// client falls back to its implicit audiences [audKube],
				// which do not meet the request's [audOther] either:
				// ok=false without an error, as kube-apiserver sees it.
				ctx := authenticator.WithAudiences(context.Background(), authenticator.Audiences{audOther})
				resp, ok, err := wh.AuthenticateToken(ctx, f.token(sub, audKube, time.Hour))
				if ok || err != nil || resp != nil {
					t.Fatalf("resp=%v ok=%v err=%v, want nil, false, nil", resp, ok, err)
				}
			})

			t.Run("denied carries the reason", func(t *testing.T) {
				expired := f.token(sub, audKube, -time.Hour)
				for name, ctx := range map[string]context.Context{
					"no audiences":       context.Background(),
					"implicit audiences": authenticator.WithAudiences(context.Background(), authenticator.Audiences{audKube}),
				} {
					resp, ok, err := wh.AuthenticateToken(ctx, expired)
					if ok || resp != nil || err == nil {
						t.Fatalf("%s: resp=%v ok=%v err=%v, want a denial with an error", name, resp, ok, err)
					}
					if !strings.HasPrefix(err.Error(), "expired: ") {
						t.Errorf("%s: error %q, want the reason code expired", name, err)
					}
				}
			})
		})
	}

}

// TestKubeWebhookClientRefusals: kube-apiserver's client against a wrong
// endpoint token and an untrusted server certificate gets an error (not
// cached by kube-apiserver), never ok.
func TestKubeWebhookClientRefusals(t *testing.T) {
	f := newFixture(t)
	srv := startTLSServe(t, f.config)

	t.Run("wrong endpoint token", func(t *testing.T) {
		bad := webhookKubeconfig(t, srv.url+"/tokenreview", srv.caPEM, "not-the-endpoint-token-0123456789abcdef")
		for _, version := range []string{"v1", "v1beta1"} {
			resp, ok, err := kubeWebhook(t, bad, version).AuthenticateToken(context.Background(), f.token("mallory", audKube, time.Hour))
			if ok || resp != nil || err == nil {
				t.Fatalf("%s: resp=%v ok=%v err=%v, want an error", version, resp, ok, err)
			}
			// client-go decodes the 401's metav1.Status into the error.
			if err.Error() != "endpoint authentication failed: invalid bearer token" {
				t.Errorf("%s: error %q, want the 401 Status message", version, err)
			}
		}
	})

	t.Run("server not trusted", func(t *testing.T) {
		other, _, _ := demoCert(t)
		untrusted := webhookKubeconfig(t, srv.url+"/tokenreview", other, endpointToken)
		_, ok, err := kubeWebhook(t, untrusted, "v1").AuthenticateToken(context.Background(), f.token("bob", audKube, time.Hour))
		if ok || err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("ok=%v err=%v, want a TLS verification error", ok, err)
		}
	})
}
