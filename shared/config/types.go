// Package config owns the webhook's configuration file: its Go types, strict
// loading from YAML or JSON, defaulting, and validation with field paths.
//
// Two kinds load into the same Config:
//
//   - kube-apiserver's own AuthenticationConfiguration
//     (apiserver.config.k8s.io/v1 or v1beta1), unchanged, so a file written
//     for --authentication-config works here with the same meaning;
//   - this project's WebhookConfiguration (tokenreview.dev/v1alpha1), a
//     superset that adds what kube's schema lacks: direct or inline JWKS,
//     signing algorithms, clock skew, maximum token lifetime, the Kubernetes
//     service-account preset, key refresh policy and the webhook's own
//     settings.
//
// The extension fields (struct tag tokenreview:"extension") are rejected in
// an AuthenticationConfiguration, so a kube file never silently means
// something kube-apiserver would not. docs/configuration.md is the field
// reference.
package config

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// API versions and kinds accepted by Load.
const (
	KubeAPIVersionV1      = "apiserver.config.k8s.io/v1"
	KubeAPIVersionV1beta1 = "apiserver.config.k8s.io/v1beta1"
	KubeKind              = "AuthenticationConfiguration"

	WebhookAPIVersion = "tokenreview.dev/v1alpha1"
	WebhookKind       = "WebhookConfiguration"
)

// Config is one loaded configuration file, whichever kind it was.
type Config struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`

	// JWT lists the trusted issuers, at most 64, each with a unique URL.
	JWT []JWTAuthenticator `json:"jwt"`

	// Webhook holds the endpoint's own settings (WebhookConfiguration only).
	Webhook Webhook `json:"webhook,omitzero" tokenreview:"extension"`

	// Anonymous and the issuers' EgressSelectorType exist only so that a
	// kube file using them is refused with a clear message instead of an
	// "unknown field" one: they mean nothing to a webhook.
	Anonymous *json.RawMessage `json:"anonymous,omitempty"`
}

// Webhook is the endpoint's own configuration.
type Webhook struct {
	// Authentication restricts who may call the endpoint. Empty means
	// anyone who can reach it (only sensible behind API Gateway mTLS).
	Authentication EndpointAuthentication `json:"authentication,omitzero"`

	// ReportDenialReasons puts the denial reason in status.error (default
	// true). kube-apiserver caches a denial only when status.error is empty,
	// so turning this off trades debuggability for fewer webhook calls on
	// repeated bad tokens.
	ReportDenialReasons *bool `json:"reportDenialReasons,omitempty"`

	// MaxTokenBytes caps the size of a token (default 16384); larger tokens
	// are refused as malformed before any decoding.
	MaxTokenBytes int `json:"maxTokenBytes,omitempty"`

	// KeyPrefetchTimeout bounds fetching every issuer's keys at start
	// (default 5s; Lambda's INIT phase is capped at 10s).
	KeyPrefetchTimeout *metav1.Duration `json:"keyPrefetchTimeout,omitempty"`
}

// EndpointAuthentication lists the credentials accepted from callers.
type EndpointAuthentication struct {
	// BearerTokens accepted in "Authorization: Bearer"; at most two, so a
	// token can be rotated without downtime.
	BearerTokens []string `json:"bearerTokens,omitempty"`

	// ClientCertificateSubjects allow-lists the subject DNs of client
	// certificates that API Gateway mutual TLS verified.
	ClientCertificateSubjects []string `json:"clientCertificateSubjects,omitempty"`
}

// JWTAuthenticator is one trusted issuer: kube-apiserver's JWTAuthenticator
// plus this project's extensions (marked below).
type JWTAuthenticator struct {
	Issuer               Issuer                `json:"issuer"`
	ClaimValidationRules []ClaimValidationRule `json:"claimValidationRules,omitempty"`
	ClaimMappings        ClaimMappings         `json:"claimMappings"`
	UserValidationRules  []UserValidationRule  `json:"userValidationRules,omitempty"`

	// Extension: allowed signing algorithms. Default RS256, RS384, RS512,
	// PS256, PS384, PS512, ES256, ES384, ES512 and EdDSA. "none" and HS* are
	// never allowed.
	Algorithms []string `json:"algorithms,omitempty" tokenreview:"extension"`

	// Extension: clock-skew leeway applied to exp, nbf and iat (default 30s).
	ClockSkew *metav1.Duration `json:"clockSkew,omitempty" tokenreview:"extension"`

	// Extension: the longest accepted exp - iat. Unset means no limit; when
	// set, iat is required.
	MaxTokenLifetime *metav1.Duration `json:"maxTokenLifetime,omitempty" tokenreview:"extension"`

	// Extension: map Kubernetes service-account tokens of another cluster
	// exactly as that cluster's own service-account authenticator would.
	// When set, claimMappings may only hold extra.
	KubernetesServiceAccount *ServiceAccountPreset `json:"kubernetesServiceAccount,omitempty" tokenreview:"extension"`

	// Extension: allow mapped usernames and groups that start with
	// "system:" (refused by default: a token from elsewhere must not act as
	// this cluster's own service accounts, nodes or masters).
	AllowReservedNames bool `json:"allowReservedNames,omitempty" tokenreview:"extension"`

	// Extension: how this issuer's keys are fetched and refreshed.
	Keys KeyPolicy `json:"keys,omitzero" tokenreview:"extension"`
}

// Issuer says who signs the tokens and for whom they must be meant.
type Issuer struct {
	// URL must equal the token's iss exactly; https only.
	URL string `json:"url"`
	// DiscoveryURL overrides <url>/.well-known/openid-configuration.
	DiscoveryURL *string `json:"discoveryURL,omitempty"`
	// CertificateAuthority (PEM) is the only trust for this issuer's HTTPS.
	// Empty means the system roots.
	CertificateAuthority string `json:"certificateAuthority,omitempty"`
	// Audiences the token must be meant for (at least one).
	Audiences []string `json:"audiences"`
	// AudienceMatchPolicy must be MatchAny when there are several audiences.
	AudienceMatchPolicy AudienceMatchPolicyType `json:"audienceMatchPolicy,omitempty"`

	// EgressSelectorType is kube-only and refused here.
	EgressSelectorType string `json:"egressSelectorType,omitempty"`

	// Extension: fetch the JWKS from this https URL, skipping discovery.
	JWKSURL string `json:"jwksURL,omitempty" tokenreview:"extension"`
	// Extension: a static JWKS (a JSON object, or a string holding one),
	// e.g. the output of `kubectl get --raw /openid/v1/jwks`, for issuers
	// that cannot be reached. No network is used for this issuer.
	JWKS json.RawMessage `json:"jwks,omitempty" tokenreview:"extension"`
}

// AudienceMatchPolicyType is kube-apiserver's audience match policy.
type AudienceMatchPolicyType string

// AudienceMatchPolicyMatchAny accepts a token meant for any configured audience.
const AudienceMatchPolicyMatchAny AudienceMatchPolicyType = "MatchAny"

// ClaimValidationRule is kube-apiserver's claim validation rule: either
// claim + requiredValue, or a CEL expression over claims with a message.
type ClaimValidationRule struct {
	Claim         string `json:"claim,omitempty"`
	RequiredValue string `json:"requiredValue,omitempty"`
	Expression    string `json:"expression,omitempty"`
	Message       string `json:"message,omitempty"`
}

// ClaimMappings maps claims to the user's fields, as in kube-apiserver.
type ClaimMappings struct {
	Username PrefixedClaimOrExpression `json:"username"`
	Groups   PrefixedClaimOrExpression `json:"groups,omitzero"`
	UID      ClaimOrExpression         `json:"uid,omitzero"`
	Extra    []ExtraMapping            `json:"extra,omitempty"`
}

// PrefixedClaimOrExpression is a claim with a required prefix, or a CEL
// expression (without prefix).
type PrefixedClaimOrExpression struct {
	Claim      string  `json:"claim,omitempty"`
	Prefix     *string `json:"prefix,omitempty"`
	Expression string  `json:"expression,omitempty"`
}

// ClaimOrExpression is a claim or a CEL expression.
type ClaimOrExpression struct {
	Claim      string `json:"claim,omitempty"`
	Expression string `json:"expression,omitempty"`
}

// ExtraMapping maps a CEL expression to one extra key.
type ExtraMapping struct {
	Key             string `json:"key"`
	ValueExpression string `json:"valueExpression"`
}

// UserValidationRule is a CEL expression over user that must be true.
type UserValidationRule struct {
	Expression string `json:"expression"`
	Message    string `json:"message,omitempty"`
}

// ServiceAccountPreset maps the kubernetes.io claim of a service-account
// token to the user kube-apiserver's service-account authenticator builds,
// with the username and groups under Prefix.
type ServiceAccountPreset struct {
	// Prefix is put before the username and every group; required, and
	// may be "" explicitly (then allowReservedNames must be true, since
	// the names start with "system:").
	Prefix *string `json:"prefix"`
	// Namespaces allowed; at least one entry. "*" allows all; an entry
	// ending in "*" matches by prefix.
	Namespaces []string `json:"namespaces"`
	// ServiceAccountNames allowed (empty means any); same matching as
	// Namespaces.
	ServiceAccountNames []string `json:"serviceAccountNames,omitempty"`
}

// KeyPolicy tunes one issuer's key fetching.
type KeyPolicy struct {
	// RefreshInterval: keys older than this are refreshed in the
	// background on the next review (default 1h).
	RefreshInterval *metav1.Duration `json:"refreshInterval,omitempty"`
	// MinRefreshInterval: the least time between two fetches triggered by
	// an unknown kid (default 30s); a forged-kid flood costs the issuer at
	// most one fetch per interval.
	MinRefreshInterval *metav1.Duration `json:"minRefreshInterval,omitempty"`
	// FetchTimeout bounds each discovery or JWKS request (default 3s).
	FetchTimeout *metav1.Duration `json:"fetchTimeout,omitempty"`
}
