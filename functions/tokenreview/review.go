package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/decision"
	"github.com/tokenreview/webhook/shared/tokenreview"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// maxStdinToken bounds a token read from stdin; the verifier applies the
// configured (smaller) limit.
const maxStdinToken = 1 << 20

// runReview is `tokenreview review`: one decision, made by the same
// handler the webhook serves with, printed as the TokenReview status the
// webhook would answer plus an explanation. Exit 0 authenticated, 1
// denied, 2 unavailable or any error.
func runReview(ctx context.Context, args []string, e env) int {
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("config", "", "configuration file")
	var auds stringList
	fs.Var(&auds, "audience", "a spec.audiences entry of the review (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	if *path == "" || fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "usage: tokenreview review --config FILE [--audience A]... TOKEN|-")
		return exitError
	}
	token, err := readToken(fs.Arg(0), e.stdin)
	if err != nil {
		fmt.Fprintln(e.stderr, "review:", err)
		return exitError
	}
	cfg, err := config.LoadFile(*path)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitError
	}
	// Key-fetch problems are logged as warnings on stderr; reviews are not.
	a, err := newApp(ctx, cfg, newLogger(e, slog.LevelWarn))
	if err != nil {
		fmt.Fprintln(e.stderr, "review:", strings.Join(problems(err), "\n  "))
		return exitError
	}
	a.handler.Auth = nil // a local decision, not an endpoint call
	var ev tokenreview.Event
	a.handler.Observe = func(_ context.Context, got tokenreview.Event) { ev = got }
	body, _ := json.Marshal(authenticationv1.TokenReview{
		TypeMeta: metav1.TypeMeta{APIVersion: tokenreview.APIVersionV1, Kind: tokenreview.Kind},
		Spec:     authenticationv1.TokenReviewSpec{Token: token, Audiences: auds},
	})
	resp := a.handler.Serve(ctx, tokenreview.Request{
		Method: http.MethodPost, Path: "/tokenreview", Header: http.Header{}, Body: body, Front: "cli",
	})
	return printReview(e, cfg, resp, ev, auds)
}

// printReview prints the answered status and the explanation, and returns
// the exit code of the decision.
func printReview(e env, cfg *config.Config, resp tokenreview.Response, ev tokenreview.Event, auds []string) int {
	if resp.StatusCode != http.StatusOK || !ev.Reviewed {
		fmt.Fprintf(e.stderr, "review: HTTP %d: %s\n", resp.StatusCode, resp.Body)
		return exitError
	}
	var out authenticationv1.TokenReview
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		fmt.Fprintln(e.stderr, "review: decoding the answer:", err)
		return exitError
	}
	status, _ := json.MarshalIndent(out.Status, "", "  ")
	fmt.Fprintf(e.stdout, "%s\n\n", status)
	explain(e.stdout, cfg, ev.Result, auds)
	switch ev.Result.Outcome {
	case decision.Authenticated:
		return exitOK
	case decision.Denied:
		return exitFail
	}
	return exitError
}

// readToken takes the token from the argument, or from r when it is "-".
func readToken(arg string, r io.Reader) (string, error) {
	if arg != "-" {
		return strings.TrimSpace(arg), nil
	}
	b, err := io.ReadAll(io.LimitReader(r, maxStdinToken+1))
	if err != nil {
		return "", fmt.Errorf("reading the token from stdin: %w", err)
	}
	if len(b) > maxStdinToken {
		return "", fmt.Errorf("token on stdin is larger than %d bytes", maxStdinToken)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", errors.New("no token on stdin")
	}
	return t, nil
}

// explain prints, for a human, what the review found. It never prints the
// token: only the verifier's safe Result.
func explain(w io.Writer, cfg *config.Config, r decision.Result, requested []string) {
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-21s %s\n", k+":", v)
		}
	}
	line("outcome", r.Outcome.String())
	line("reason", string(r.Reason))
	line("detail", r.Message)
	line("issuer", r.Issuer)
	line("kid", r.KeyID)
	line("alg", r.Algorithm)
	if r.Outcome == decision.Authenticated {
		line("user", r.User.Username)
		line("uid", r.User.UID)
		line("groups", strings.Join(r.User.Groups, ", "))
		for _, k := range slices.Sorted(maps.Keys(r.User.Extra)) {
			line("extra "+k, strings.Join(r.User.Extra[k], ", "))
		}
		line("accepted audiences", strings.Join(r.Audiences, ", "))
	} else if j := issuerConfig(cfg, r.Issuer); j != nil {
		line("issuer audiences", strings.Join(j.Issuer.Audiences, ", "))
	}
	line("requested audiences", strings.Join(requested, ", "))
}

func issuerConfig(cfg *config.Config, url string) *config.JWTAuthenticator {
	for i := range cfg.JWT {
		if cfg.JWT[i].Issuer.URL == url {
			return &cfg.JWT[i]
		}
	}
	return nil
}
