package infra_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tokenreview/webhook/shared/claims"
	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
)

// loadExample runs the path of `tokenreview validate`: strict load with
// every structural rule, then compiling every issuer's CEL and mappings.
func loadExample(t *testing.T, name string) (*config.Config, []*claims.Mapper) {
	t.Helper()
	cfg, err := config.LoadFile(filepath.Join("examples", name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var mappers []*claims.Mapper
	for i := range cfg.JWT {
		m, errs := claims.Compile(&cfg.JWT[i], field.NewPath("jwt").Index(i))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", name, errs.ToAggregate())
		}
		mappers = append(mappers, m)
	}
	return cfg, mappers
}

func expectUser(t *testing.T, m *claims.Mapper, c map[string]any, want authenticationv1.UserInfo) {
	t.Helper()
	got, err := m.Map(c)
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("user\n got %+v\nwant %+v", got, want)
	}
}

func expectDenied(t *testing.T, m *claims.Mapper, c map[string]any, reason decision.Reason, message string) {
	t.Helper()
	_, err := m.Map(c)
	var de *decision.Error
	if !errors.As(err, &de) || de.Reason != reason || de.Message != message {
		t.Fatalf("want %s %q, got %v", reason, message, err)
	}
}

func saClaims(ns, name string) map[string]any {
	return map[string]any{
		"sub": "system:serviceaccount:" + ns + ":" + name,
		"kubernetes.io": map[string]any{
			"namespace":      ns,
			"serviceaccount": map[string]any{"name": name, "uid": "0f6c2f3e-sa-uid"},
		},
	}
}

func TestExampleCrossClusterServiceAccounts(t *testing.T) {
	cfg, m := loadExample(t, "cross-cluster-serviceaccounts.yaml")
	if cfg.Kind != config.WebhookKind || len(cfg.JWT) != 2 {
		t.Fatalf("kind %s with %d issuers", cfg.Kind, len(cfg.JWT))
	}
	if len(cfg.JWT[1].Issuer.JWKS) == 0 || cfg.JWT[0].Issuer.JWKS != nil {
		t.Fatal("want discovery for cluster-b and a static JWKS for cluster-c")
	}
	expectUser(t, m[0], saClaims("ci", "deployer"), authenticationv1.UserInfo{
		Username: "cluster-b:system:serviceaccount:ci:deployer",
		UID:      "0f6c2f3e-sa-uid",
		Groups:   []string{"cluster-b:system:serviceaccounts", "cluster-b:system:serviceaccounts:ci"},
	})
	expectUser(t, m[0], saClaims("team-red", "reader"), authenticationv1.UserInfo{
		Username: "cluster-b:system:serviceaccount:team-red:reader",
		UID:      "0f6c2f3e-sa-uid",
		Groups:   []string{"cluster-b:system:serviceaccounts", "cluster-b:system:serviceaccounts:team-red"},
	})
	expectDenied(t, m[0], saClaims("kube-system", "deployer"), decision.ClaimRuleFailed,
		`service account namespace "kube-system" is not allowed`)
	expectDenied(t, m[0], saClaims("ci", "admin"), decision.ClaimRuleFailed,
		`service account "admin" in namespace "ci" is not allowed`)
	expectUser(t, m[1], saClaims("monitoring", "prometheus"), authenticationv1.UserInfo{
		Username: "cluster-c:system:serviceaccount:monitoring:prometheus",
		UID:      "0f6c2f3e-sa-uid",
		Groups:   []string{"cluster-c:system:serviceaccounts", "cluster-c:system:serviceaccounts:monitoring"},
	})
}

func TestExampleEKS(t *testing.T) {
	cfg, m := loadExample(t, "eks-oidc.yaml")
	if got := cfg.JWT[0].Issuer.URL; got != "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E" {
		t.Fatalf("issuer %s", got)
	}
	expectUser(t, m[0], saClaims("batch-nightly", "runner"), authenticationv1.UserInfo{
		Username: "eks-prod:system:serviceaccount:batch-nightly:runner",
		UID:      "0f6c2f3e-sa-uid",
		Groups:   []string{"eks-prod:system:serviceaccounts", "eks-prod:system:serviceaccounts:batch-nightly"},
		Extra:    map[string]authenticationv1.ExtraValue{"cluster.example.com/name": {"eks-prod"}},
	})
	expectDenied(t, m[0], saClaims("default", "runner"), decision.ClaimRuleFailed,
		`service account namespace "default" is not allowed`)
}

func TestExampleGenericOIDC(t *testing.T) {
	cfg, m := loadExample(t, "generic-oidc.yaml")
	if cfg.Kind != config.KubeKind || cfg.APIVersion != config.KubeAPIVersionV1 {
		t.Fatalf("want kube's own AuthenticationConfiguration, got %s %s", cfg.APIVersion, cfg.Kind)
	}
	person := map[string]any{
		"sub": "8d1c-user", "email": "ada@example.com", "email_verified": true,
		"groups": []any{"admins", "dev"},
	}
	expectUser(t, m[0], person, authenticationv1.UserInfo{
		Username: "ada@example.com", UID: "8d1c-user", Groups: []string{"oidc:admins", "oidc:dev"},
	})
	person["email_verified"] = false
	expectDenied(t, m[0], person, decision.ClaimRuleFailed,
		"validation expression 'has(claims.email_verified) && claims.email_verified == true' failed: the e-mail address must be verified")
}

func TestExampleGitHubActions(t *testing.T) {
	_, m := loadExample(t, "github-actions.yaml")
	run := map[string]any{
		"sub":                 "repo:example-org/app:ref:refs/heads/main",
		"repository":          "example-org/app",
		"repository_owner":    "example-org",
		"repository_owner_id": "1234567",
		"ref":                 "refs/heads/main",
		"workflow":            "deploy",
		"event_name":          "push",
	}
	expectUser(t, m[0], run, authenticationv1.UserInfo{
		Username: "github:example-org/app",
		UID:      "repo:example-org/app:ref:refs/heads/main",
		Groups:   []string{"github:example-org"},
		Extra: map[string]authenticationv1.ExtraValue{
			"token.actions.githubusercontent.com/ref":        {"refs/heads/main"},
			"token.actions.githubusercontent.com/workflow":   {"deploy"},
			"token.actions.githubusercontent.com/event-name": {"push"},
		},
	})
	run["repository_owner_id"] = "7654321" // a re-created organisation of the same name
	expectDenied(t, m[0], run, decision.ClaimRuleFailed,
		`validation expression 'claims.repository_owner_id == "1234567"' failed: the repository must belong to example-org (id 1234567)`)
}
