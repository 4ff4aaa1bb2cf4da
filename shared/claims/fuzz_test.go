package claims

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
)

// FuzzMap feeds arbitrary JSON payloads to a claim mapper, a CEL mapper and
// the service-account preset: Map must never panic, and must return either
// a user or a *decision.Error denial.
func FuzzMap(f *testing.F) {
	for _, seed := range []string{
		saPayload,
		`{"sub":"jane","groups":["a",1],"email":"x","email_verified":"yes"}`,
		`{"sub":null,"kubernetes.io":[],"jti":{}}`,
		`{"kubernetes.io":{"namespace":"a","serviceaccount":{"name":"b","uid":"c"},"pod":{"name":1}},"sub":"system:serviceaccount:a:b"}`,
		`{}`,
	} {
		f.Add(seed)
	}
	sa := presetIssuer("b:", []string{"*"})
	sa.ClaimMappings.Extra = []config.ExtraMapping{{Key: "example.com/ns", ValueExpression: `claims.?kubernetes__dot__io.?namespace.orValue("")`}}
	mappers := []*Mapper{
		mustCompile(f, &config.JWTAuthenticator{ClaimMappings: claimMappings("email", "p:", "groups", "g:")}),
		mustCompile(f, &config.JWTAuthenticator{
			ClaimValidationRules: []config.ClaimValidationRule{{Expression: `!has(claims.deny)`}},
			ClaimMappings:        exprMappings(`claims.sub`, `claims.?groups.orValue(null)`, `claims.?uid.orValue("")`),
			UserValidationRules:  []config.UserValidationRule{{Expression: `user.groups.all(g, g != "")`}},
		}),
		mustCompile(f, &sa),
	}
	f.Fuzz(func(t *testing.T, payload string) {
		var c map[string]any
		if json.Unmarshal([]byte(payload), &c) != nil {
			return
		}
		for _, m := range mappers {
			if _, err := m.Map(c); err != nil {
				var de *decision.Error
				if !errors.As(err, &de) || de.Unavailable || de.Reason == "" {
					t.Fatalf("Map error %v (%T) is not a denial", err, err)
				}
			}
		}
	})
}
