package lambdaevent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/endpointauth"
	"github.com/tokenreview/webhook/shared/testissuer"
	"github.com/tokenreview/webhook/shared/tokenreview"
	"github.com/tokenreview/webhook/shared/verify"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/plugin/pkg/authenticator/token/webhook"
	"k8s.io/client-go/rest"
)

// clientCert is a CA and a client certificate it signed, in PEM.
type clientCert struct {
	pool            *x509.CertPool
	certPEM, keyPEM []byte
}

func newClientCert(subject pkix.Name) clientCert {
	ca := testissuer.NewClientCA()
	certPEM, keyPEM := ca.Issue(subject)
	return clientCert{pool: ca.Pool(), certPEM: certPEM, keyPEM: keyPEM}
}

// eventsToken is the valid token of the committed sample events.
func eventsToken(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, "direct-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Spec struct {
			Token string `json:"token"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || tr.Spec.Token == "" {
		t.Fatalf("direct-v1.json: %v", err)
	}
	return tr.Spec.Token
}

// TestKubeWebhookClientThroughServeHTTP drives the local HTTP path
// (FromHTTP → HTTP API adapter → WriteHTTP) with kube-apiserver's own
// webhook token authenticator over mutual TLS plus a bearer token, in both
// webhook versions, with the real verifier.
func TestKubeWebhookClientThroughServeHTTP(t *testing.T) {
	cfg, err := config.LoadFile(filepath.Join(eventsDir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := verify.New(context.Background(), cfg, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cc := newClientCert(pkix.Name{CommonName: "kube-apiserver", Organization: []string{"cluster-a"}})
	const endpointToken = "kube-client-endpoint-token-0123456789abcdef"
	pol, err := endpointauth.New([]string{endpointToken}, []string{"CN=kube-apiserver, O=cluster-a"})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		events []tokenreview.Event
	)
	h := NewHandler(&tokenreview.Handler{Reviewer: a, Auth: pol, DenialReasons: true,
		Observe: func(_ context.Context, e tokenreview.Event) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		}})
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: cc.pool}
	srv.StartTLS()
	defer srv.Close()
	serverCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	token := eventsToken(t)
	for _, version := range []string{"v1", "v1beta1"} {
		t.Run(version, func(t *testing.T) {
			restCfg := &rest.Config{
				Host:            srv.URL + "/tokenreview",
				BearerToken:     endpointToken,
				TLSClientConfig: rest.TLSClientConfig{CAData: serverCA, CertData: cc.certPEM, KeyData: cc.keyPEM},
			}
			// kube-apiserver's implicit audiences are its API audiences,
			// which are also what it puts in spec.audiences.
			apiAuds := authenticator.Audiences{"tokenreview-events", "other"}
			wh, err := webhook.New(restCfg, version, apiAuds, wait.Backoff{Duration: time.Millisecond, Steps: 1})
			if err != nil {
				t.Fatal(err)
			}
			ctx := authenticator.WithAudiences(context.Background(), apiAuds)
			mu.Lock()
			events = nil
			mu.Unlock()
			resp, ok, err := wh.AuthenticateToken(ctx, token)
			if err != nil || !ok {
				t.Fatalf("ok=%v err=%v", ok, err)
			}
			u := resp.User
			if u.GetName() != "events:sam-local" || strings.Join(u.GetGroups(), ",") != "events:readers" ||
				strings.Join(resp.Audiences, ",") != "tokenreview-events" {
				t.Fatalf("user %+v audiences %v", u, resp.Audiences)
			}
			mu.Lock()
			got := append([]tokenreview.Event(nil), events...)
			mu.Unlock()
			if len(got) != 1 || got[0].Front != FrontLocal || got[0].APIVersion != "authentication.k8s.io/"+version || got[0].RequestID == "" {
				t.Fatalf("events %+v", got)
			}

			// A denial with a reason reaches kube's client as an error.
			_, ok, err = wh.AuthenticateToken(ctx, tamper(token))
			if ok || err == nil || !strings.HasPrefix(err.Error(), "bad_signature: ") {
				t.Fatalf("bad signature: ok=%v err=%v", ok, err)
			}

			// Without the client certificate the endpoint refuses (401),
			// which kube's client reports as an error.
			noCert := *restCfg
			noCert.TLSClientConfig = rest.TLSClientConfig{CAData: serverCA}
			wh2, err := webhook.New(&noCert, version, apiAuds, wait.Backoff{Duration: time.Millisecond, Steps: 1})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok, err := wh2.AuthenticateToken(ctx, token); ok || err == nil {
				t.Fatalf("without client certificate: ok=%v err=%v", ok, err)
			}
		})
	}
}

// TestServeHTTPEdges checks what only the net/http path has: the body cut
// at the limit, GET, and the client certificate absent over plain HTTP.
func TestServeHTTPEdges(t *testing.T) {
	h := eventsHandler(t, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	auth := "Bearer events-endpoint-token-TEST-ONLY-not-a-secret"
	do := func(method, body string) (int, http.Header, string) {
		req, _ := http.NewRequest(method, srv.URL+"/tokenreview", strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header, string(b)
	}
	code, hdr, body := do(http.MethodPost, `{"spec":{"token":"`+strings.Repeat("a", 2*tokenreview.MaxBodyBytes)+`"}}`)
	if code != 413 || hdr.Get("Content-Type") != "application/json" || !strings.Contains(body, `"reason":"RequestEntityTooLarge"`) {
		t.Errorf("over-size: %d %v %s", code, hdr, body)
	}
	code, hdr, _ = do(http.MethodGet, "")
	if code != 405 || hdr.Get("Allow") != "POST" {
		t.Errorf("GET: %d %v", code, hdr)
	}
	code, _, body = do(http.MethodPost, `{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"`+eventsToken(t)+`","audiences":["tokenreview-events"]}}`)
	if code != 200 || !strings.Contains(body, `"username":"events:sam-local"`) {
		t.Errorf("review: %d %s", code, body)
	}
}

// tamper changes one character in the middle of the signature.
func tamper(token string) string {
	b := []byte(token)
	i := len(b) - 20
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
