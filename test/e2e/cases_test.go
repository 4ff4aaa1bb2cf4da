package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const credentialIDKey = "authentication.kubernetes.io/credential-id"

// reviewCases presents fresh tokens to cluster A (kube-apiserver caches a
// success for 10 s, so no token is reused across cases) and checks what A
// concluded and what the webhook counted.
func (e *env) reviewCases(t *testing.T, a *apiserver) {
	t.Run("service-account", func(t *testing.T) {
		token := e.mintB(t, allowedNS, readerSA, audienceA)
		if hdr, _ := tokenParts(t, token); hdr["kid"] != e.keyB1.kid {
			t.Fatalf("B signed with kid %v, want %s (the kid kube-apiserver derives from the key)", hdr["kid"], e.keyB1.kid)
		}
		e.expectReader(t, a, token)
		e.expectRBAC(t, a, token)
	})
	t.Run("same-user-as-b", func(t *testing.T) { e.expectSameAsB(t, a) })
	t.Run("oidc", func(t *testing.T) {
		jti := randomHex(t)
		token := e.oidc.token(t, oidcCorp, e.oidcClaims(map[string]any{
			"sub": "u-1234", "email": "alice@example.com", "email_verified": true,
			"groups": []string{"admins", "devs"}, "jti": jti,
		}))
		e.expectUser(t, a, token, authenticationv1.UserInfo{
			Username: "oidc:alice@example.com",
			Groups:   []string{"oidc:admins", "oidc:devs", "system:authenticated"},
			Extra:    map[string]authenticationv1.ExtraValue{credentialIDKey: {"JTI=" + jti}},
		})
	})
	t.Run("oidc-unprefixed", func(t *testing.T) {
		token := e.oidc.token(t, oidcRaw, e.oidcClaims(map[string]any{"sub": "bob"}))
		e.expectUser(t, a, token, authenticationv1.UserInfo{Username: "bob", Groups: []string{"system:authenticated"}})
	})

	denials := []struct {
		name, reason string
		token        func(t *testing.T) string
	}{
		{"other-audience", "audience_mismatch", func(t *testing.T) string {
			return e.mintB(t, allowedNS, readerSA, otherAud)
		}},
		{"expired", "expired", func(t *testing.T) string {
			now := time.Now()
			claims := e.bClaims(t, map[string]any{"iat": now.Add(-20 * time.Minute).Unix(), "nbf": now.Add(-20 * time.Minute).Unix(), "exp": now.Add(-10 * time.Minute).Unix()})
			return signRS256(t, e.keyB1.signer(), e.keyB1.kid, claims)
		}},
		{"namespace-not-allowed", "claim_rule_failed", func(t *testing.T) string {
			return e.mintB(t, forbiddenNS, intruderSA, audienceA)
		}},
		{"reserved-name", "reserved_name", func(t *testing.T) string {
			return e.oidc.token(t, oidcRaw, e.oidcClaims(map[string]any{"sub": "system:admin"}))
		}},
		{"unpublished-key-new-kid", "unknown_key", func(t *testing.T) string {
			return signRS256(t, freshRSA(t), "never-published", e.bClaims(t, nil))
		}},
		{"unpublished-key-known-kid", "bad_signature", func(t *testing.T) string {
			return signRS256(t, freshRSA(t), e.keyB1.kid, e.bClaims(t, nil))
		}},
	}
	for _, d := range denials {
		t.Run("refused/"+d.name, func(t *testing.T) { e.expectRefused(t, a, d.token(t), d.reason) })
	}
	t.Run("repeat", func(t *testing.T) { e.repeatCases(t, a) })
}

// present records token's signature (see expectNoTokenLogged) and returns
// a client of A authenticating with it.
func (e *env) present(t *testing.T, a *apiserver, token string) *kubernetes.Clientset {
	t.Helper()
	e.presented = append(e.presented, token[strings.LastIndexByte(token, '.')+1:])
	return a.bearerClient(t, token)
}

// expectUser presents token to A as a bearer and checks the user A's
// SelfSubjectReview reports, and that the webhook counted exactly one
// authenticated review for it.
func (e *env) expectUser(t *testing.T, a *apiserver, token string, want authenticationv1.UserInfo) {
	t.Helper()
	before := e.hook.metrics(t)
	ssr, err := e.present(t, a, token).AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview: %v (webhook log %s)", err, e.hook.logPath)
	}
	got := ssr.Status.UserInfo
	if len(got.Extra) == 0 {
		got.Extra = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("A sees user\n%s\nwant\n%s", asJSON(got), asJSON(want))
	}
	e.expectOneReview(t, before, reviewSeries("authenticated", "none"))
}

// expectSameAsB presents one token to B itself (its own service-account
// authenticator) and to A (the webhook), and checks A's user is B's with the
// preset's prefix on the username and on every group but
// system:authenticated, the same UID and the same extra.
func (e *env) expectSameAsB(t *testing.T, a *apiserver) {
	t.Helper()
	token := e.mintB(t, allowedNS, readerSA, audienceA, e.b.url) // B accepts its issuer URL by default
	ssr, err := e.present(t, e.b, token).AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectReview on B: %v", err)
	}
	onB := ssr.Status.UserInfo
	if onB.Username != "system:serviceaccount:"+allowedNS+":"+readerSA || len(onB.Extra) == 0 {
		t.Fatalf("B sees %s", asJSON(onB))
	}
	want := onB
	want.Username = saPrefix + onB.Username
	want.Groups = nil
	for _, g := range onB.Groups {
		if g != "system:authenticated" {
			g = saPrefix + g
		}
		want.Groups = append(want.Groups, g)
	}
	e.expectUser(t, a, token, want)
}

// expectRefused presents token to A and expects 401 Unauthorized, with the
// webhook having denied exactly one review for reason.
func (e *env) expectRefused(t *testing.T, a *apiserver, token, reason string) {
	t.Helper()
	before := e.hook.metrics(t)
	ssr, err := e.present(t, a, token).AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("SelfSubjectReview: got user %v, error %v; want 401 Unauthorized", ssr, err)
	}
	if reason == "unknown_key" {
		e.lastKeyMiss = time.Now()
	}
	e.expectOneReview(t, before, reviewSeries("denied", reason))
}

// expectRBAC checks A's RBAC sees B's service account by its prefixed
// name: get in "apps" is allowed, in "other" forbidden.
func (e *env) expectRBAC(t *testing.T, a *apiserver, token string) {
	t.Helper()
	c := e.present(t, a, token)
	cm, err := c.CoreV1().ConfigMaps("apps").Get(context.Background(), "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get apps/settings as %s: %v", readerUser(), err)
	}
	if cm.Data["ns"] != "apps" {
		t.Fatalf("apps/settings data = %v", cm.Data)
	}
	_, err = c.CoreV1().ConfigMaps("other").Get(context.Background(), "settings", metav1.GetOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("get other/settings as %s: error %v, want 403 Forbidden", readerUser(), err)
	}
}

// expectOneReview waits (the webhook may count just after replying) until
// series grew by one since before, then checks no other review was
// counted: A called the webhook exactly once.
func (e *env) expectOneReview(t *testing.T, before map[string]float64, series string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		after := e.hook.metrics(t)
		if after[series] == before[series]+1 {
			if got, want := sumReviews(after), sumReviews(before)+1; got != want {
				t.Fatalf("webhook counted %v reviews, want %v:\n%s", got-sumReviews(before), 1, diffSeries(before, after))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook did not count one more %s; changes:\n%s\nwebhook log tail:\n%s", series, diffSeries(before, after), e.hook.tail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bClaims returns the claims of a real token B minted just now for
// team-a/reader and audience A, with a fresh jti and the given overrides:
// a B-shaped payload for tokens the test signs itself.
func (e *env) bClaims(t *testing.T, overrides map[string]any) map[string]any {
	t.Helper()
	_, claims := tokenParts(t, e.mintB(t, allowedNS, readerSA, audienceA))
	claims["jti"] = randomHex(t)
	maps.Copy(claims, overrides)
	return claims
}

// oidcClaims adds aud, iat and a 10-minute exp to claims.
func (e *env) oidcClaims(claims map[string]any) map[string]any {
	now := time.Now()
	claims["aud"] = audienceA
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(10 * time.Minute).Unix()
	return claims
}

func sumReviews(m map[string]float64) float64 {
	var n float64
	for k, v := range m {
		if strings.HasPrefix(k, "tokenreview_reviews_total{") {
			n += v
		}
	}
	return n
}

// diffSeries lists the series whose value changed.
func diffSeries(before, after map[string]float64) string {
	var b strings.Builder
	for k, v := range after {
		if strings.HasPrefix(k, "tokenreview_review_duration") {
			continue
		}
		if before[k] != v {
			b.WriteString("  " + k + ": " + jsonNum(before[k]) + " -> " + jsonNum(v) + "\n")
		}
	}
	return b.String()
}

func jsonNum(f float64) string { b, _ := json.Marshal(f); return string(b) }

func asJSON(v any) string { b, _ := json.MarshalIndent(v, "", "  "); return string(b) }

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}

func freshRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	return k
}
