package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Names shared by the clusters, the webhook's configuration and the
// assertions.
const (
	audienceA = "https://cluster-a.e2e.test" // cluster A's --api-audiences
	otherAud  = "https://elsewhere.e2e.test" // an audience A does not accept
	saPrefix  = "cluster-b:"                 // the service-account preset's prefix

	allowedNS   = "team-a" // allowed by the preset
	forbiddenNS = "team-b" // not allowed
	readerSA    = "reader" // the service account the RBAC rules name
	intruderSA  = "intruder"

	oidcCorp = "corp" // OIDC issuer: username from email, groups, both prefixed "oidc:"
	oidcRaw  = "raw"  // OIDC issuer: username from sub with no prefix

	minRefresh = 2 * time.Second // B's keys.minRefreshInterval in the webhook
)

// env is the shared world of one run: cluster B, the OIDC issuers and the
// webhook trusting both. Cluster A is started per webhook API version.
type env struct {
	pki   *ca
	etcdB *etcd
	b     *apiserver
	keyB1 *saKey // B's first signing key
	oidc  *oidcIssuers
	hook  *webhook
	etcdA *etcd
	// hookKubeconfig is A's --authentication-token-webhook-config-file.
	hookKubeconfig string
	// readerUID is the UID of team-a/reader in cluster B.
	readerUID string
	// presented holds the signature of every token shown to the webhook,
	// to check that no log holds one.
	presented []string
	// lastKeyMiss is when a token with a kid B never published last made
	// the webhook refetch B's keys (the rate limit counts from there).
	lastKeyMiss time.Time
}

// TestEndToEnd is the whole scenario; see the package comment.
func TestEndToEnd(t *testing.T) {
	began := time.Now()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FAILED after %s; every process log is in %s", time.Since(began).Round(time.Second), logDir)
		}
	})
	e := &env{pki: newCA(t)}
	e.startClusterB(t)
	e.startWebhook(t)
	t.Run("endpoint-authentication", e.expectEndpointAuth)
	e.etcdA = startEtcd(t, "etcd-a")

	var a *apiserver
	for _, version := range []string{"v1beta1", "v1"} {
		a = e.startClusterA(t, version)
		mark := e.hook.logSize(t)
		if !t.Run("webhook-"+version, func(t *testing.T) { e.reviewCases(t, a) }) {
			return
		}
		e.expectVersion(t, mark, "authentication.k8s.io/"+version)
		if version != "v1" {
			if err := a.stop(); err != nil {
				t.Fatalf("stop %s: %v", a.name, err)
			}
		}
	}
	t.Run("forged-kid-flood", func(t *testing.T) { e.forgedKidFlood(t, a) })
	t.Run("key-rotation", func(t *testing.T) { e.rotateB(t, a) })
	e.expectNoTokenLogged(t)
	t.Logf("scenario took %s", time.Since(began).Round(time.Second))
}

// startClusterB starts etcd and kube-apiserver B, opens its issuer
// discovery to anonymous callers, and creates the namespaces, service
// accounts and Secrets the tokens are bound to.
func (e *env) startClusterB(t *testing.T) {
	t.Helper()
	e.etcdB = startEtcd(t, "etcd-b")
	e.keyB1 = newSAKey(t)
	e.b = startAPIServer(t, e.pki, apiserverSpec{
		name: "cluster-b", etcd: e.etcdB, etcdPrefix: "/registry",
		signingKey: e.keyB1, verifyKeys: []*saKey{e.keyB1},
	})
	ctx := context.Background()
	_, err := e.b.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-issuer-discovery-unauthenticated"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:service-account-issuer-discovery"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "system:unauthenticated"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("B: bind issuer discovery to system:unauthenticated: %v", err)
	}
	for _, sa := range []struct{ ns, name string }{{allowedNS, readerSA}, {forbiddenNS, intruderSA}} {
		if _, err := e.b.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sa.ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("B: create namespace %s: %v", sa.ns, err)
		}
		created, err := e.b.client.CoreV1().ServiceAccounts(sa.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa.name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("B: create service account %s/%s: %v", sa.ns, sa.name, err)
		}
		if sa.name == readerSA {
			e.readerUID = string(created.UID)
		}
		if _, err := e.b.client.CoreV1().Secrets(sa.ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "binding"}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("B: create secret %s/binding: %v", sa.ns, err)
		}
	}
}

// mintB asks B's TokenRequest API for a token of ns/name meant for
// audiences, bound to the namespace's Secret "binding" and valid 10 minutes.
func (e *env) mintB(t *testing.T, ns, name string, audiences ...string) string {
	t.Helper()
	ctx := context.Background()
	secret, err := e.b.client.CoreV1().Secrets(ns).Get(ctx, "binding", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("B: get secret %s/binding: %v", ns, err)
	}
	tr, err := e.b.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			Audiences:         audiences,
			ExpirationSeconds: ptr.To[int64](600),
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: secret.Name, UID: secret.UID},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("B: TokenRequest for %s/%s: %v", ns, name, err)
	}
	return tr.Status.Token
}

// startWebhook starts the OIDC issuers and `tokenreview serve` trusting B
// (service-account preset) and both OIDC issuers, and writes A's webhook
// kubeconfig.
func (e *env) startWebhook(t *testing.T) {
	t.Helper()
	e.oidc = startOIDC(t, oidcCorp, oidcRaw)
	bearer := randomToken(t)
	cfg := map[string]any{
		"apiVersion": "tokenreview.dev/v1alpha1",
		"kind":       "WebhookConfiguration",
		"webhook":    map[string]any{"authentication": map[string]any{"bearerTokens": []string{bearer}}},
		"jwt": []any{
			map[string]any{
				"issuer": map[string]any{
					"url":                  e.b.url,
					"certificateAuthority": string(e.pki.certPEM),
					"audiences":            []string{audienceA},
				},
				"kubernetesServiceAccount": map[string]any{"prefix": saPrefix, "namespaces": []string{allowedNS}},
				"keys":                     map[string]any{"minRefreshInterval": minRefresh.String()},
			},
			map[string]any{
				"issuer": map[string]any{"url": e.oidc.URL(oidcCorp), "certificateAuthority": e.oidc.caPEM(), "audiences": []string{audienceA}},
				"claimMappings": map[string]any{
					"username": map[string]any{"claim": "email", "prefix": "oidc:"},
					"groups":   map[string]any{"claim": "groups", "prefix": "oidc:"},
				},
			},
			map[string]any{
				"issuer":        map[string]any{"url": e.oidc.URL(oidcRaw), "certificateAuthority": e.oidc.caPEM(), "audiences": []string{audienceA}},
				"claimMappings": map[string]any{"username": map[string]any{"claim": "sub", "prefix": ""}},
			},
		},
	}
	e.hook = startWebhook(t, e.pki, cfg)
	e.hookKubeconfig = writeFile(t, logDir, "webhook-kubeconfig.json", e.hook.kubeconfig(bearer))
}

// startClusterA starts kube-apiserver A (on the shared etcd-a, under its own
// prefix) authenticating bearer tokens through the webhook with the given
// TokenReview version; "v1beta1" leaves the flag at its default.
func (e *env) startClusterA(t *testing.T, version string) *apiserver {
	t.Helper()
	key := newSAKey(t)
	extra := []string{
		"--authentication-token-webhook-config-file=" + e.hookKubeconfig,
	}
	if version != "v1beta1" {
		extra = append(extra, "--authentication-token-webhook-version="+version)
	}
	a := startAPIServer(t, e.pki, apiserverSpec{
		name: "cluster-a-" + version, etcd: e.etcdA, etcdPrefix: "/registry-" + version,
		signingKey: key, verifyKeys: []*saKey{key},
		audiences: []string{audienceA},
		extra:     extra,
	})
	e.grantReader(t, a)
	return a
}

// grantReader lets B's team-a/reader get ConfigMaps in A's namespace
// "apps" (and nowhere else), and creates one there to read.
func (e *env) grantReader(t *testing.T, a *apiserver) {
	t.Helper()
	ctx := context.Background()
	c := a.client
	for _, ns := range []string{"apps", "other"} {
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("A: create namespace %s: %v", ns, err)
		}
		if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}, Data: map[string]string{"ns": ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("A: create configmap %s/settings: %v", ns, err)
		}
	}
	if _, err := c.RbacV1().Roles("apps").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "settings-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("A: create role: %v", err)
	}
	if _, err := c.RbacV1().RoleBindings("apps").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "settings-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "settings-reader"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: readerUser()}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("A: create role binding: %v", err)
	}
}

// readerUser is the username A must see for B's team-a/reader.
func readerUser() string {
	return fmt.Sprintf("%ssystem:serviceaccount:%s:%s", saPrefix, allowedNS, readerSA)
}

// expectVersion checks that every review the webhook logged since mark was
// a TokenReview of apiVersion (what A's --authentication-token-webhook-version
// selects; v1beta1 is kube-apiserver's default) and that there was one.
func (e *env) expectVersion(t *testing.T, mark int64, apiVersion string) {
	t.Helper()
	recs := e.hook.reviewsSince(t, mark)
	if len(recs) == 0 {
		t.Fatalf("the webhook logged no review (log %s)", e.hook.logPath)
	}
	for _, r := range recs {
		if r["api_version"] != apiVersion {
			t.Fatalf("the webhook received a TokenReview %v, want %s: %v", r["api_version"], apiVersion, r)
		}
	}
	t.Logf("%d reviews, all %s", len(recs), apiVersion)
}

// expectNoTokenLogged checks that no process log holds the signature of a
// token presented during the run (tokens must never be logged).
func (e *env) expectNoTokenLogged(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(e.hook.logPath)
	if err != nil {
		t.Fatalf("read webhook log: %v", err)
	}
	for _, sig := range e.presented {
		if strings.Contains(string(data), sig) {
			t.Fatalf("the webhook log %s contains a token signature", e.hook.logPath)
		}
	}
	t.Logf("none of the %d presented tokens appears in the webhook log", len(e.presented))
}
