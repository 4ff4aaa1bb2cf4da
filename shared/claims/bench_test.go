package claims

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/tokenreview/webhook/shared/config"
)

// BenchmarkMap measures Map on the hot path for the common shapes. Run
// with -benchmem: allocations matter as much as time.
func BenchmarkMap(b *testing.B) {
	sa := presetIssuer("cluster-b:", []string{"team-*"}, "builder")
	claimPrefix := config.JWTAuthenticator{ClaimMappings: claimMappings("sub", "oidc:", "groups", "oidc:")}
	cel := config.JWTAuthenticator{
		ClaimValidationRules: []config.ClaimValidationRule{{Expression: `claims.?email_verified.orValue(true) == true`}},
		ClaimMappings: config.ClaimMappings{
			Username: config.PrefixedClaimOrExpression{Expression: `"oidc:" + claims.email`},
			Groups:   config.PrefixedClaimOrExpression{Expression: `claims.groups.map(g, "oidc:" + g)`},
		},
	}
	for _, bc := range []struct {
		name   string
		j      config.JWTAuthenticator
		claims string
	}{
		{"sa-preset", sa, saPayload},
		{"claim-prefix-groups", claimPrefix, `{"iss":"https://idp.example","aud":"k8s","exp":1790000000,"iat":1789996400,"sub":"jane","groups":["dev","ops","audit"]}`},
		{"cel-username-groups", cel, `{"iss":"https://idp.example","aud":"k8s","exp":1790000000,"iat":1789996400,"email":"jane@example.com","email_verified":true,"groups":["dev","ops","audit"]}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := mustCompile(b, &bc.j)
			c := decodeClaims(b, bc.claims)
			if _, err := m.Map(c); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Map(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMapConcurrent shares one Mapper between goroutines, as the verifier
// does; run with -race.
func TestMapConcurrent(t *testing.T) {
	j := presetIssuer("cluster-b:", []string{"*"})
	j.ClaimMappings.Extra = []config.ExtraMapping{{Key: "example.com/ns", ValueExpression: `claims.kubernetes__dot__io.namespace`}}
	j.UserValidationRules = []config.UserValidationRule{{Expression: `user.groups.size() == 2`}}
	m := mustCompile(t, &j)
	c := decodeClaims(t, saPayload) // shared: Map must only read it
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			var err error
			for i := 0; i < 200 && err == nil; i++ {
				var u authenticationv1.UserInfo
				u, err = m.Map(c)
				if err == nil && (u.Username != "cluster-b:system:serviceaccount:team-a:builder" || u.Extra["example.com/ns"][0] != "team-a") {
					t.Errorf("Map = %+v", u)
					break
				}
			}
			done <- err
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
