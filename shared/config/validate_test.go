package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKubeRules has one case per kube-apiserver validation rule, with the
// exact message kube-apiserver gives.
func TestKubeRules(t *testing.T) {
	sixtyFive := make([]string, 65)
	for i := range sixtyFive {
		sixtyFive[i] = fmt.Sprintf(`- {issuer: {url: "https://i%d.example.com", audiences: [a]}, %s}`, i, okMapping)
	}
	const badURL = `"http://user:pw@issuer.example.com/?q=1#frag"`
	cases := []struct {
		name string
		doc  string
		want []string
	}{
		{"valid minimal", kubeDoc(issuerEntry("", "")), nil},
		{"no issuers", kubeHead + "jwt: []\n", []string{
			"jwt: Required value: at least one issuer is required: a webhook without one authenticates nobody"}},
		{"more than 64 issuers", kubeDoc(sixtyFive...), []string{
			"jwt: Too many: 65: must have at most 64 items"}},
		{"url required", kubeDoc(`- {issuer: {audiences: [a]}, ` + okMapping + `}`), []string{
			"jwt[0].issuer.url: Required value"}},
		{"url https, no userinfo, query or fragment", kubeDoc(`- {issuer: {url: ` + badURL + `, audiences: [a]}, ` + okMapping + `}`), []string{
			`jwt[0].issuer.url: Invalid value: "http://user:xxxxx@issuer.example.com/?q=1#frag": URL scheme must be https`,
			`jwt[0].issuer.url: Invalid value: "http://user:xxxxx@issuer.example.com/?q=1#frag": URL must not contain a username or password`,
			`jwt[0].issuer.url: Invalid value: "http://user:xxxxx@issuer.example.com/?q=1#frag": URL must not contain a query`,
			`jwt[0].issuer.url: Invalid value: "http://user:xxxxx@issuer.example.com/?q=1#frag": URL must not contain a fragment`}},
		{"url unparsable", kubeDoc(`- {issuer: {url: "https://a b/%zz", audiences: [a]}, ` + okMapping + `}`), []string{
			`jwt[0].issuer.url: Invalid value: "https://a b/%zz": invalid character " " in host name`}},
		{"discoveryURL differs from url after trimming the slash", kubeDoc(issuerEntry(`, discoveryURL: "https://issuer.example.com/"`, "")), []string{
			`jwt[0].issuer.discoveryURL: Invalid value: "https://issuer.example.com/": discoveryURL must be different from URL`}},
		{"discoveryURL https", kubeDoc(issuerEntry(`, discoveryURL: "http://d.example.com/x"`, "")), []string{
			`jwt[0].issuer.discoveryURL: Invalid value: "http://d.example.com/x": URL scheme must be https`}},
		{"url and discoveryURL unique", kubeDoc(
			issuerEntry(`, discoveryURL: "https://d.example.com/x"`, ""),
			issuerEntry(`, discoveryURL: "https://d.example.com/x"`, "")), []string{
			`jwt[1].issuer.url: Duplicate value: "https://issuer.example.com"`,
			`jwt[1].issuer.discoveryURL: Duplicate value: "https://d.example.com/x"`}},
		{"audiences required", kubeDoc(`- {issuer: {url: "https://i.example.com", audiences: []}, ` + okMapping + `}`), []string{
			"jwt[0].issuer.audiences: Required value: at least one jwt[0].issuer.audiences is required"}},
		{"audiences non-empty and unique", kubeDoc(`- {issuer: {url: "https://i.example.com", audiences: [a, "", a], audienceMatchPolicy: MatchAny}, ` + okMapping + `}`), []string{
			"jwt[0].issuer.audiences[1]: Required value",
			`jwt[0].issuer.audiences[2]: Duplicate value: "a"`}},
		{"several audiences need MatchAny", kubeDoc(`- {issuer: {url: "https://i.example.com", audiences: [a, b]}, ` + okMapping + `}`), []string{
			`jwt[0].issuer.audienceMatchPolicy: Invalid value: "": audienceMatchPolicy must be MatchAny for multiple audiences`}},
		{"one audience: empty or MatchAny policy", kubeDoc(issuerEntry(`, audienceMatchPolicy: MatchAll`, "")), []string{
			`jwt[0].issuer.audienceMatchPolicy: Invalid value: "MatchAll": audienceMatchPolicy must be empty or MatchAny for single audience`}},
		{"certificateAuthority must be PEM certificates", kubeDoc(issuerEntry(`, certificateAuthority: "not a certificate"`, "")), []string{
			`jwt[0].issuer.certificateAuthority: Invalid value: "<omitted>": data does not contain any valid RSA or ECDSA certificates`}},
		{"claimValidationRules", kubeDoc(issuerEntry("", `, claimValidationRules: [
			{claim: hd, expression: "true"},
			{},
			{claim: hd, requiredValue: x, message: m},
			{expression: "claims.a", requiredValue: x},
			{claim: hd},
			{expression: "claims.a"}]`)), []string{
			`jwt[0].claimValidationRules[0]: Invalid value: "hd": claim and expression can't both be set`,
			"jwt[0].claimValidationRules[1]: Required value: claim or expression is required",
			`jwt[0].claimValidationRules[2].message: Invalid value: "m": may not be specified when claim is set`,
			`jwt[0].claimValidationRules[3].requiredValue: Invalid value: "x": may not be specified when expression is set`,
			`jwt[0].claimValidationRules[4].claim: Duplicate value: "hd"`,
			`jwt[0].claimValidationRules[5].expression: Duplicate value: "claims.a"`}},
		{"username required", kubeDoc(issuerEntry("", `, claimMappings: {groups: {claim: g, prefix: ""}}`)), []string{
			"jwt[0].claimMappings.username: Required value: claim or expression is required"}},
		{"username claim xor expression", kubeDoc(issuerEntry("", `, claimMappings: {username: {claim: sub, expression: "claims.sub"}}`)), []string{
			`jwt[0].claimMappings.username: Invalid value: "": claim and expression can't both be set`}},
		{"username prefix required with claim", kubeDoc(issuerEntry("", `, claimMappings: {username: {claim: sub}}`)), []string{
			"jwt[0].claimMappings.username.prefix: Required value: prefix is required when claim is set. It can be set to an empty string to disable prefixing"}},
		{"username prefix forbidden with expression", kubeDoc(issuerEntry("", `, claimMappings: {username: {expression: "claims.sub", prefix: "p:"}}`)), []string{
			`jwt[0].claimMappings.username.prefix: Invalid value: "p:": may not be specified when expression is set`}},
		{"groups rules", kubeDoc(
			issuerEntry("", `, claimMappings: {username: {expression: "claims.sub"}, groups: {claim: g}}`),
			`- {issuer: {url: "https://two.example.com", audiences: [a]}, claimMappings: {username: {expression: "claims.sub"}, groups: {claim: g, expression: "claims.g"}}}`,
			`- {issuer: {url: "https://three.example.com", audiences: [a]}, claimMappings: {username: {expression: "claims.sub"}, groups: {expression: "claims.g", prefix: ""}}}`), []string{
			"jwt[0].claimMappings.groups.prefix: Required value: prefix is required when claim is set. It can be set to an empty string to disable prefixing",
			`jwt[1].claimMappings.groups: Invalid value: "": claim and expression can't both be set`,
			`jwt[2].claimMappings.groups.prefix: Invalid value: "": may not be specified when expression is set`}},
		{"uid claim xor expression", kubeDoc(issuerEntry("", `, claimMappings: {username: {expression: "claims.sub"}, uid: {claim: sub, expression: "claims.sub"}}`)), []string{
			`jwt[0].claimMappings.uid: Invalid value: "": claim and expression can't both be set`}},
		{"extra keys and values", kubeDoc(issuerEntry("", `, claimMappings: {username: {expression: "claims.sub"}, extra: [
			{key: tenant, valueExpression: "1"},
			{key: Example.com/Tenant, valueExpression: "1"},
			{key: k8s.io/x, valueExpression: "1"},
			{key: a.kubernetes.io/x, valueExpression: "1"},
			{key: example.com/t},
			{key: example.com/t, valueExpression: "2"}]}`)), []string{
			`jwt[0].claimMappings.extra[0].key: Invalid value: "tenant": must be a domain-prefixed path (such as "acme.io/foo")`,
			`jwt[0].claimMappings.extra[1].key: Invalid value: "Example.com": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
			`jwt[0].claimMappings.extra[1].key: Invalid value: "Example.com/Tenant": must be lowercase`,
			`jwt[0].claimMappings.extra[2].key: Invalid value: "k8s.io/x": k8s.io, kubernetes.io and their subdomains are reserved for Kubernetes use`,
			`jwt[0].claimMappings.extra[3].key: Invalid value: "a.kubernetes.io/x": k8s.io, kubernetes.io and their subdomains are reserved for Kubernetes use`,
			"jwt[0].claimMappings.extra[4].valueExpression: Required value",
			`jwt[0].claimMappings.extra[5].key: Duplicate value: "example.com/t"`}},
		{"userValidationRules", kubeDoc(issuerEntry("", `, userValidationRules: [{message: m}, {expression: "true"}, {expression: "true"}]`)), []string{
			"jwt[0].userValidationRules[0].expression: Required value",
			`jwt[0].userValidationRules[2].expression: Duplicate value: "true"`}},
		{"anonymous refused", kubeDoc(issuerEntry("", "")) + "anonymous: {enabled: true}\n", []string{
			"anonymous: Forbidden: " + anonymousDetail}},
		{"egressSelectorType refused", kubeDoc(issuerEntry(", egressSelectorType: controlplane", "")), []string{
			"jwt[0].issuer.egressSelectorType: Forbidden: " + egressDetail}},
		{"email claim without email_verified is left to package claims", kubeDoc(issuerEntry("", `, claimMappings: {username: {expression: "claims.email"}}`)), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertLines(t, tc.doc, tc.want)
		})
	}
}

// TestKindRules covers apiVersion and kind.
func TestKindRules(t *testing.T) {
	entry := issuerEntry("", "")
	cases := []struct {
		name string
		head string
		want []string
	}{
		{"kube v1", kubeHead, nil},
		{"kube v1beta1", "apiVersion: apiserver.config.k8s.io/v1beta1\nkind: AuthenticationConfiguration\n", nil},
		{"webhook", webhookHead, nil},
		{"neither", "", []string{
			"apiVersion: Required value: one of apiserver.config.k8s.io/v1, apiserver.config.k8s.io/v1beta1, tokenreview.dev/v1alpha1",
			"kind: Required value: one of AuthenticationConfiguration, WebhookConfiguration"}},
		{"kube v1alpha1 is not accepted", "apiVersion: apiserver.config.k8s.io/v1alpha1\nkind: AuthenticationConfiguration\n", []string{
			`apiVersion: Unsupported value: "apiserver.config.k8s.io/v1alpha1": supported values: "apiserver.config.k8s.io/v1", "apiserver.config.k8s.io/v1beta1", "tokenreview.dev/v1alpha1"`}},
		{"unknown kind", "apiVersion: tokenreview.dev/v1alpha1\nkind: Config\n", []string{
			`kind: Unsupported value: "Config": supported values: "AuthenticationConfiguration", "WebhookConfiguration"`}},
		{"kind of the other apiVersion", "apiVersion: tokenreview.dev/v1alpha1\nkind: AuthenticationConfiguration\n", []string{
			`kind: Invalid value: "AuthenticationConfiguration": apiVersion tokenreview.dev/v1alpha1 takes kind WebhookConfiguration`}},
		{"kind is case-sensitive", "apiVersion: apiserver.config.k8s.io/v1\nkind: authenticationconfiguration\n", []string{
			`kind: Unsupported value: "authenticationconfiguration": supported values: "AuthenticationConfiguration", "WebhookConfiguration"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertLines(t, tc.head+"jwt:\n"+entry+"\n", tc.want)
		})
	}
}

// TestExtensionsRefusedInKubeKind: every extension field in a kube file is
// refused by name, with the reason.
func TestExtensionsRefusedInKubeKind(t *testing.T) {
	doc := kubeHead + `webhook: {maxTokenBytes: 2048}
jwt:
- issuer: {url: "https://issuer.example.com", audiences: [a], jwksURL: "https://issuer.example.com/keys", jwks: {keys: []}}
  claimMappings: {username: {claim: sub, prefix: ""}}
  algorithms: [RS256]
  clockSkew: 10s
  maxTokenLifetime: 1h
  kubernetesServiceAccount: {prefix: "b:", namespaces: ["*"]}
  allowReservedNames: true
  keys: {fetchTimeout: 1s}
`
	var want []string
	for _, f := range []string{"jwt[0].algorithms", "jwt[0].allowReservedNames", "jwt[0].clockSkew",
		"jwt[0].issuer.jwks", "jwt[0].issuer.jwksURL", "jwt[0].keys", "jwt[0].kubernetesServiceAccount",
		"jwt[0].maxTokenLifetime", "webhook"} {
		want = append(want, f+": Forbidden: "+extensionOnlyDetail)
	}
	assertLines(t, doc, want)
	if !strings.Contains(want[0], "only allowed in kind WebhookConfiguration") {
		t.Fatalf("message does not say where the field belongs: %s", want[0])
	}

	// Validate alone (a Config built in code) refuses them too, in field order.
	empty, skew := "", metav1.Duration{Duration: time.Second}
	cfg := &Config{APIVersion: KubeAPIVersionV1, Kind: KubeKind,
		Webhook: Webhook{MaxTokenBytes: 2048},
		JWT: []JWTAuthenticator{{
			Issuer:                   Issuer{URL: "https://i.example.com", Audiences: []string{"a"}, JWKSURL: "https://i.example.com/k", JWKS: []byte(`{"keys":[]}`)},
			ClaimMappings:            ClaimMappings{Username: PrefixedClaimOrExpression{Claim: "sub", Prefix: &empty}},
			Algorithms:               []string{"RS256"},
			ClockSkew:                &skew,
			MaxTokenLifetime:         &skew,
			KubernetesServiceAccount: &ServiceAccountPreset{Prefix: &empty},
			AllowReservedNames:       true,
			Keys:                     KeyPolicy{FetchTimeout: &skew},
		}}}
	var got []string
	for _, e := range cfg.Validate() {
		got = append(got, e.Error())
	}
	wantValidate := []string{"webhook", "jwt[0].algorithms", "jwt[0].clockSkew", "jwt[0].maxTokenLifetime",
		"jwt[0].kubernetesServiceAccount", "jwt[0].allowReservedNames", "jwt[0].keys", "jwt[0].issuer.jwksURL", "jwt[0].issuer.jwks"}
	for i := range wantValidate {
		wantValidate[i] += ": Forbidden: " + extensionOnlyDetail
	}
	if strings.Join(got, "\n") != strings.Join(wantValidate, "\n") {
		t.Errorf("Validate:\n got %q\nwant %q", got, wantValidate)
	}
}
