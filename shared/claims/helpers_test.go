package claims

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
)

// mapCase is one Map scenario: an issuer configuration, a JSON payload
// and either the exact user or the exact denial.
type mapCase struct {
	name   string
	j      config.JWTAuthenticator
	claims string
	want   authenticationv1.UserInfo
	reason decision.Reason
	msg    string
}

func strPtr(s string) *string { return &s }

// decodeClaims decodes a payload as the verifier does: JSON into
// map[string]any, numbers as float64.
func decodeClaims(t testing.TB, payload string) map[string]any {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal([]byte(payload), &c); err != nil {
		t.Fatalf("bad test payload %s: %v", payload, err)
	}
	return c
}

func mustCompile(t testing.TB, j *config.JWTAuthenticator) *Mapper {
	t.Helper()
	m, errs := Compile(j, field.NewPath("jwt").Index(0))
	if len(errs) > 0 {
		t.Fatalf("Compile: %v", errs.ToAggregate())
	}
	return m
}

func runMapCases(t *testing.T, cases []mapCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := mustCompile(t, &tc.j)
			got, err := m.Map(decodeClaims(t, tc.claims))
			if tc.reason != "" {
				var de *decision.Error
				if !errors.As(err, &de) {
					t.Fatalf("Map error = %v (%T), want *decision.Error %s", err, err, tc.reason)
				}
				if de.Reason != tc.reason || de.Message != tc.msg || de.Unavailable {
					t.Fatalf("Map error = {%s %q unavailable=%v}, want {%s %q}", de.Reason, de.Message, de.Unavailable, tc.reason, tc.msg)
				}
				if !reflect.DeepEqual(got, authenticationv1.UserInfo{}) {
					t.Fatalf("Map returned a user with an error: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			assertUser(t, got, tc.want)
		})
	}
}

// assertUser compares field by field, telling nil from empty.
func assertUser(t *testing.T, got, want authenticationv1.UserInfo) {
	t.Helper()
	if got.Username != want.Username {
		t.Errorf("username = %q, want %q", got.Username, want.Username)
	}
	if got.UID != want.UID {
		t.Errorf("uid = %q, want %q", got.UID, want.UID)
	}
	if !reflect.DeepEqual(got.Groups, want.Groups) {
		t.Errorf("groups = %#v, want %#v", got.Groups, want.Groups)
	}
	if !reflect.DeepEqual(got.Extra, want.Extra) {
		t.Errorf("extra = %#v, want %#v", got.Extra, want.Extra)
	}
}

// subUser is the smallest configuration: username from sub, unprefixed.
func subUser() config.ClaimMappings {
	return config.ClaimMappings{Username: config.PrefixedClaimOrExpression{Claim: "sub", Prefix: strPtr("")}}
}

type extraMap = map[string]authenticationv1.ExtraValue
