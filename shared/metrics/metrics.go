// Package metrics owns the webhook's counters: reviews by outcome and
// reason, review latency, and key fetches and their failures per issuer.
//
// A *Registry is created by the caller and passed to whoever records into
// it (no package-level state). It renders the same numbers two ways:
// Prometheus text exposition (WritePrometheus, for `tokenreview serve`'s
// /metrics) and CloudWatch Embedded Metric Format JSON lines (WriteEMF, for
// Lambda, where stdout lines carrying an "_aws" member become metrics).
package metrics

import (
	"sort"
	"sync"
	"time"

	"github.com/tokenreview/webhook/shared/decision"
)

// NoReason is the Reason label of an authenticated review, which has none.
const NoReason = "none"

// latencyBuckets are the upper bounds, in seconds, of the latency
// histogram. A review is one signature check, so most fall in the first
// buckets; the upper ones catch reviews that waited for a key fetch.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// reviewKey identifies one series of the reviews counter.
type reviewKey struct {
	outcome string
	reason  string
}

// fetchCount is the key fetches of one issuer.
type fetchCount struct {
	fetches  uint64
	failures uint64
}

// Registry holds the counters. The zero value is not usable: call
// NewRegistry. All methods are safe for concurrent use.
type Registry struct {
	mu sync.Mutex

	// Totals since start, for Prometheus.
	reviews map[reviewKey]uint64
	buckets []uint64 // cumulative counts are computed at render time
	count   uint64
	sum     float64 // seconds
	fetches map[string]fetchCount
	refused map[int]uint64 // by HTTP status

	// Changes since the last WriteEMF, for CloudWatch (EMF values are
	// deltas: CloudWatch sums them).
	pendingReviews   map[reviewKey][]float64 // latencies in ms
	pendingFetches   map[string]fetchCount
	pendingRefused   map[int]uint64
	pendingSomething bool
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{
		reviews:        map[reviewKey]uint64{},
		buckets:        make([]uint64, len(latencyBuckets)),
		fetches:        map[string]fetchCount{},
		refused:        map[int]uint64{},
		pendingReviews: map[reviewKey][]float64{},
		pendingFetches: map[string]fetchCount{},
		pendingRefused: map[int]uint64{},
	}
}

// ObserveReview records one review: its outcome, its reason (empty for an
// authenticated review) and how long it took.
func (r *Registry) ObserveReview(outcome decision.Outcome, reason decision.Reason, latency time.Duration) {
	k := reviewKey{outcome: outcome.String(), reason: string(reason)}
	if k.reason == "" {
		k.reason = NoReason
	}
	secs := latency.Seconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reviews[k]++
	r.count++
	r.sum += secs
	for i, le := range latencyBuckets {
		if secs <= le {
			r.buckets[i]++
			break
		}
	}
	r.pendingReviews[k] = append(r.pendingReviews[k], float64(latency)/float64(time.Millisecond))
	r.pendingSomething = true
}

// ObserveKeyFetch records one key set fetch attempt for issuer; err is
// its failure, nil on success. Its signature fits verify's OnKeyFetch.
func (r *Registry) ObserveKeyFetch(issuer string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, p := r.fetches[issuer], r.pendingFetches[issuer]
	c.fetches++
	p.fetches++
	if err != nil {
		c.failures++
		p.failures++
	}
	r.fetches[issuer], r.pendingFetches[issuer] = c, p
	r.pendingSomething = true
}

// ObserveRefused records a call answered without a review (endpoint
// authentication failed, wrong method, malformed body...) with its HTTP
// status code.
func (r *Registry) ObserveRefused(httpStatus int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused[httpStatus]++
	r.pendingRefused[httpStatus]++
	r.pendingSomething = true
}

// Refused returns the number of calls refused with httpStatus.
func (r *Registry) Refused(httpStatus int) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused[httpStatus]
}

// Reviews returns the number of reviews recorded with outcome and reason
// ("" or NoReason for an authenticated review).
func (r *Registry) Reviews(outcome decision.Outcome, reason decision.Reason) uint64 {
	k := reviewKey{outcome: outcome.String(), reason: string(reason)}
	if k.reason == "" {
		k.reason = NoReason
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reviews[k]
}

// KeyFetches returns the fetches and failed fetches recorded for issuer.
func (r *Registry) KeyFetches(issuer string) (fetches, failures uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.fetches[issuer]
	return c.fetches, c.failures
}

// sortedReviewKeys returns the keys of m in a stable order.
func sortedReviewKeys[V any](m map[reviewKey]V) []reviewKey {
	keys := make([]reviewKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].outcome != keys[j].outcome {
			return keys[i].outcome < keys[j].outcome
		}
		return keys[i].reason < keys[j].reason
	})
	return keys
}

// sortedCodes returns the keys of m in order.
func sortedCodes(m map[int]uint64) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

// sortedIssuers returns the keys of m in order.
func sortedIssuers(m map[string]fetchCount) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
