package verify

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tokenreview/webhook/shared/claims"
	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/keys"
)

// issuer is everything precomputed for one configured issuer.
type issuer struct {
	url       string
	audiences []string // A, in configuration order
	algs      []algorithm
	algNames  []string // for messages

	leeway, lifetime         float64 // seconds; lifetime 0 = unlimited
	leewayText, lifetimeText string

	keys   *keys.Set
	mapper *claims.Mapper
}

// algorithm is an allowed alg and golang-jwt's implementation of it,
// resolved once so a review does no registry lookup.
type algorithm struct {
	name   string
	method jwt.SigningMethod
}

// method returns the signing method for alg if the issuer allows it.
func (is *issuer) method(alg string) jwt.SigningMethod {
	for i := range is.algs {
		if is.algs[i].name == alg {
			return is.algs[i].method
		}
	}
	return nil
}

// New builds an Authenticator for cfg: per issuer, the compiled claim
// mappings, the allowed signing methods, and a key set. Every configuration
// problem of every issuer is returned at once (an aggregate of field
// errors with their paths); the key sets are only built, concurrently and
// within cfg.Webhook.PrefetchTimeout(), once everything compiled. A key
// fetch failure is not an error: Ready reports it and reviews of that
// issuer are Unavailable until a fetch succeeds.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Authenticator, error) {
	a := &Authenticator{
		issuers: make(map[string]*issuer, len(cfg.JWT)),
		limit:   cfg.Webhook.TokenLimit(),
		now:     opts.Now,
	}
	if a.now == nil {
		a.now = time.Now
	}
	var errs field.ErrorList
	for i := range cfg.JWT {
		j := &cfg.JWT[i]
		p := field.NewPath("jwt").Index(i)
		is, ierrs := compileIssuer(j, p)
		errs = append(errs, ierrs...)
		if is == nil {
			continue
		}
		if _, dup := a.issuers[is.url]; dup {
			errs = append(errs, field.Duplicate(p.Child("issuer", "url"), is.url))
			continue
		}
		a.issuers[is.url] = is
		a.order = append(a.order, is)
	}
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	if err := a.buildKeys(ctx, cfg, opts); err != nil {
		return nil, err
	}
	return a, nil
}

// compileIssuer resolves everything of j that does not need the network.
func compileIssuer(j *config.JWTAuthenticator, p *field.Path) (*issuer, field.ErrorList) {
	var errs field.ErrorList
	is := &issuer{
		url:       j.Issuer.URL,
		audiences: append([]string(nil), j.Issuer.Audiences...),
		leeway:    j.Leeway().Seconds(),
		lifetime:  j.Lifetime().Seconds(),
	}
	is.leewayText = j.Leeway().String()
	is.lifetimeText = j.Lifetime().String()
	if len(is.audiences) == 0 {
		errs = append(errs, field.Required(p.Child("issuer", "audiences"), "at least one audience is required"))
	}
	ap := p.Child("algorithms")
	for _, name := range j.AllowedAlgorithms() {
		// Defence in depth: config validation already refuses these.
		if name == "none" || strings.HasPrefix(name, "HS") {
			errs = append(errs, field.NotSupported(ap, name, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}))
			continue
		}
		m := jwt.GetSigningMethod(name)
		if m == nil {
			errs = append(errs, field.Invalid(ap, name, "unknown signing algorithm"))
			continue
		}
		is.algs = append(is.algs, algorithm{name: name, method: m})
		is.algNames = append(is.algNames, name)
	}
	if len(is.algs) == 0 && len(errs) == 0 {
		errs = append(errs, field.Required(ap, "no signing algorithm is allowed"))
	}
	m, cerrs := claims.Compile(j, p)
	errs = append(errs, cerrs...)
	is.mapper = m
	if len(errs) > 0 {
		return nil, errs
	}
	return is, nil
}

// buildKeys creates every issuer's key set concurrently, so that the
// prefetch of all issuers takes as long as the slowest one, bounded by the
// prefetch timeout.
func (a *Authenticator) buildKeys(ctx context.Context, cfg *config.Config, opts Options) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Webhook.PrefetchTimeout())
	defer cancel()
	kopts := keys.Options{HTTPClient: opts.HTTPClient, OnFetch: opts.OnKeyFetch, Now: opts.Now, Logger: opts.Logger}
	errs := make([]*field.Error, len(cfg.JWT))
	var wg sync.WaitGroup
	for i := range cfg.JWT {
		j := &cfg.JWT[i]
		is := a.issuers[j.Issuer.URL]
		wg.Go(func() {
			s, err := keys.New(ctx, j, kopts)
			if err != nil {
				errs[i] = field.Invalid(field.NewPath("jwt").Index(i).Child("issuer"), j.Issuer.URL, err.Error())
				return
			}
			is.keys = s
		})
	}
	wg.Wait()
	var list field.ErrorList
	for _, err := range errs {
		if err != nil {
			list = append(list, err)
		}
	}
	if len(list) > 0 {
		return fmt.Errorf("building key sets: %w", list.ToAggregate())
	}
	return nil
}
