package verify

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokenreview/webhook/shared/decision"
)

// BenchmarkRatio measures Review against the bare signature check of the
// same token, interleaved call by call so that both see the same machine
// load (the build machine is shared and busy), and reports the ratio of
// the minimum and of the median per-call times.
func BenchmarkRatio(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			s := newBenchSetup(b, alg)
			m := jwt.GetSigningMethod(alg)
			ctx := context.Background()
			var sig, rev []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := m.Verify(s.input, s.sig, s.key); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if r := s.a.Review(ctx, s.token, nil); r.Outcome != decision.Authenticated {
					b.Fatal(r.Reason)
				}
				t2 := time.Now()
				sig, rev = append(sig, t1.Sub(t0)), append(rev, t2.Sub(t1))
			}
			slices.Sort(sig)
			slices.Sort(rev)
			b.ReportMetric(float64(sig[0].Nanoseconds()), "sig-min-ns")
			b.ReportMetric(float64(rev[0].Nanoseconds()), "review-min-ns")
			b.ReportMetric(float64(rev[0])/float64(sig[0]), "ratio-min")
			b.ReportMetric(float64(rev[len(rev)/2])/float64(sig[len(sig)/2]), "ratio-median")
		})
	}
}
