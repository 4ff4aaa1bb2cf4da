package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tokenreview/webhook/shared/claims"
	"github.com/tokenreview/webhook/shared/config"
	"github.com/tokenreview/webhook/shared/endpointauth"
)

// runValidate is `tokenreview validate --config FILE`: every problem of
// the file, structural and CEL alike, without touching the network.
func runValidate(args []string, e env) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("config", "", "configuration file to check")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitError
	}
	if *path == "" || fs.NArg() > 0 {
		fmt.Fprintln(e.stderr, "usage: tokenreview validate --config FILE")
		return exitError
	}
	list, err := validateFile(*path)
	if err != nil {
		fmt.Fprintf(e.stdout, "%s: %v\n", *path, err)
		return exitFail
	}
	if len(list.problems) > 0 {
		fmt.Fprintf(e.stdout, "%s: %d problem%s:\n", *path, len(list.problems), plural(len(list.problems)))
		for _, p := range list.problems {
			// A CEL error spans lines: indent its continuation.
			fmt.Fprintf(e.stdout, "  %s\n", strings.ReplaceAll(p, "\n", "\n    "))
		}
		return exitFail
	}
	fmt.Fprintf(e.stdout, "ok: %d issuer%s\n", list.issuers, plural(list.issuers))
	return exitOK
}

type validation struct {
	issuers  int
	problems []string
}

// validateFile loads path and compiles what the verifier would compile:
// every issuer's claim mappings and CEL rules (claims.Compile, the same
// code verify.New runs) and the endpoint policy. err is a file that
// cannot be read or parsed at all.
func validateFile(path string) (validation, error) {
	cfg, err := config.LoadFile(path)
	if err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			return validation{problems: problems(ve)}, nil
		}
		if inner := errors.Unwrap(err); inner != nil {
			return validation{}, inner // without LoadFile's "configuration <path>:" prefix
		}
		return validation{}, err
	}
	v := validation{issuers: len(cfg.JWT)}
	for i := range cfg.JWT {
		_, errs := claims.Compile(&cfg.JWT[i], field.NewPath("jwt").Index(i))
		for _, fe := range errs {
			v.problems = append(v.problems, fe.Error())
		}
	}
	auth := cfg.Webhook.Authentication
	if _, err := endpointauth.New(auth.BearerTokens, auth.ClientCertificateSubjects); err != nil {
		v.problems = append(v.problems, "webhook.authentication: "+err.Error())
	}
	return v, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
