package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// maxConfigBytes bounds the size of a configuration file. Real files are a
// few kilobytes; 64 issuers with inline JWKS stay far below this.
const maxConfigBytes = 4 << 20

// ValidationError is the error Load returns for a file that decodes badly or
// breaks a rule: every problem, each with its field path.
type ValidationError struct {
	// Errors lists every problem found, in file order where possible.
	Errors field.ErrorList
}

// Error prints one problem per line.
func (e *ValidationError) Error() string {
	lines := make([]string, 0, len(e.Errors))
	for _, fe := range e.Errors {
		lines = append(lines, fe.Error())
	}
	return strings.Join(lines, "\n")
}

// LoadFile reads, decodes and validates the configuration file at path.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	cfg, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("configuration %s:\n%w", path, err)
	}
	return cfg, nil
}

// Load decodes a configuration from YAML or JSON strictly (unknown fields,
// wrong types and duplicate fields are errors) and validates it. Defaults
// are not written into the result: the getters (Leeway, Refresh, ...)
// return them, so a loaded Config marshals back to what was written. The
// error is a *ValidationError listing every problem with its field path,
// or a plain error for input that is not YAML or JSON at all.
func Load(data []byte) (*Config, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty configuration")
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("configuration is %d bytes, more than the %d allowed", len(data), maxConfigBytes)
	}
	// Duplicate keys are found on the YAML tree (the JSON conversion keeps
	// only the last one), so they can be reported with their paths.
	errs := duplicateKeys(data)

	jsonData, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parse configuration: %w", err)
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(jsonData))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("parse configuration: %w", err)
	}
	root, ok := tree.(map[string]any)
	if !ok {
		return nil, errors.New("configuration must be a YAML or JSON object with apiVersion, kind and jwt")
	}

	// The shape walk reports unknown fields, wrong types, bad durations and
	// extension fields in a kube file, and drops the offending values so
	// that decoding and validation can go on and report the rest.
	shapeErrs := checkShape(root, kindOf(root))
	errs = append(errs, shapeErrs...)

	clean, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("re-encode configuration: %w", err)
	}
	cfg := &Config{}
	strictErrs, err := sigsjson.UnmarshalStrict(clean, cfg)
	if err != nil {
		// The shape walk should have caught every type error; this is
		// the safety net.
		return nil, &ValidationError{Errors: append(errs, field.InternalError(nil, fmt.Errorf("decode: %w", err)))}
	}
	for _, se := range strictErrs {
		errs = append(errs, strictError(se))
	}
	normalize(cfg)

	// A value of the wrong type was dropped: the rule errors at or under
	// its path ("Required" and the like) would only repeat the problem.
	errs = append(errs, withoutPaths(cfg.Validate(), typeErrorPaths(shapeErrs))...)
	if errs = dedupe(errs); len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return cfg, nil
}

// kindOf reads the kind from the undecoded tree, so that extension fields
// can be judged before decoding.
func kindOf(root map[string]any) string {
	k, _ := root["kind"].(string)
	return k
}

// strictError turns one of sigs.k8s.io/json's strict errors into a field
// error with its path.
func strictError(err error) *field.Error {
	var fe sigsjson.FieldError
	if errors.As(err, &fe) {
		kind := "unknown field"
		if strings.HasPrefix(err.Error(), "duplicate") {
			kind = "duplicate field"
		}
		return &field.Error{Type: field.ErrorTypeForbidden, Field: fe.FieldPath(), BadValue: field.OmitValueType{}, Detail: kind}
	}
	return field.InternalError(nil, err)
}

// normalize turns empty optional lists into nil, so that a loaded Config
// equals the one loaded from its own JSON encoding (omitempty drops them).
func normalize(c *Config) {
	for i := range c.JWT {
		j := &c.JWT[i]
		j.ClaimValidationRules = nilIfEmpty(j.ClaimValidationRules)
		j.UserValidationRules = nilIfEmpty(j.UserValidationRules)
		j.ClaimMappings.Extra = nilIfEmpty(j.ClaimMappings.Extra)
		j.Algorithms = nilIfEmpty(j.Algorithms)
		// jwks: null means unset, like every other null.
		if t := bytes.TrimSpace(j.Issuer.JWKS); len(t) == 0 || string(t) == "null" {
			j.Issuer.JWKS = nil
		}
		if sa := j.KubernetesServiceAccount; sa != nil {
			sa.ServiceAccountNames = nilIfEmpty(sa.ServiceAccountNames)
		}
	}
	a := &c.Webhook.Authentication
	a.BearerTokens = nilIfEmpty(a.BearerTokens)
	a.ClientCertificateSubjects = nilIfEmpty(a.ClientCertificateSubjects)
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// typeErrorPaths lists the paths of values dropped for their type.
func typeErrorPaths(list field.ErrorList) []string {
	var paths []string
	for _, e := range list {
		if e.Type == field.ErrorTypeTypeInvalid {
			paths = append(paths, e.Field)
		}
	}
	return paths
}

// withoutPaths drops the errors at or under any of paths, and the
// "Required" errors of their parents (a dropped claim leaves its mapping
// empty).
func withoutPaths(list field.ErrorList, paths []string) field.ErrorList {
	if len(paths) == 0 {
		return list
	}
	var out field.ErrorList
	for _, e := range list {
		if !slices.ContainsFunc(paths, func(p string) bool {
			return isUnder(e.Field, p) || (e.Type == field.ErrorTypeRequired && isUnder(p, e.Field))
		}) {
			out = append(out, e)
		}
	}
	return out
}

// isUnder reports whether path is parent or inside it.
func isUnder(path, parent string) bool {
	return path == parent || strings.HasPrefix(path, parent+".") || strings.HasPrefix(path, parent+"[")
}

// dedupe drops repeated problems (the shape walk and Validate both refuse
// an extension field in a kube file), keeping the first.
func dedupe(list field.ErrorList) field.ErrorList {
	seen := make(map[string]bool, len(list))
	out := list[:0]
	for _, e := range list {
		s := e.Error()
		if seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, e)
	}
	return out
}
