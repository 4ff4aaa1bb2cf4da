package claims

import (
	"fmt"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
)

const (
	claimsVar = "claims"
	userVar   = "user"

	// userTypeName is the CEL object type of the user variable, named as
	// in kube-apiserver so that error messages read the same.
	userTypeName = "kubernetes.UserInfo"

	// perCallCostLimit is kube-apiserver's CEL per-call cost limit
	// (k8s.io/apiserver/pkg/apis/cel PerCallLimit).
	perCallCostLimit = 1_000_000
)

// envs holds the two CEL environments, built once per process: they are
// immutable once built and only used to compile.
var envs = sync.OnceValues(func() (*envPair, error) {
	claimsEnv, err := cel.NewEnv(append(baseEnvOptions(),
		cel.Variable(claimsVar, cel.MapType(cel.StringType, cel.DynType)))...)
	if err != nil {
		return nil, fmt.Errorf("build the claims CEL environment: %w", err)
	}
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, fmt.Errorf("build the CEL type registry: %w", err)
	}
	userEnv, err := cel.NewEnv(append([]cel.EnvOption{
		cel.CustomTypeProvider(&userTypeProvider{Registry: reg}),
		cel.CustomTypeAdapter(reg),
	}, append(baseEnvOptions(),
		cel.Variable(userVar, cel.ObjectType(userTypeName)))...)...)
	if err != nil {
		return nil, fmt.Errorf("build the user CEL environment: %w", err)
	}
	return &envPair{claims: claimsEnv, user: userEnv}, nil
})

type envPair struct {
	claims *cel.Env
	user   *cel.Env
}

// baseEnvOptions are the parts of kube-apiserver's base CEL environment
// (k8s.io/apiserver/pkg/cel/environment/base.go) that users write in
// authentication rules and that exist in cel.dev/cel-go: optional types,
// the strings, sets, lists and two-variable comprehension extensions, and
// its validators. Kubernetes-only libraries (quantity, IP, CIDR, URL,
// authz, semver) are not available.
func baseEnvOptions() []cel.EnvOption {
	return []cel.EnvOption{
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		// Version 5 and later charge string functions (replace, split,
		// join, ...) by the size they scan and build, so the cost limit
		// also bounds a rule that blows a claim up; kube's base
		// environment (version 2) charges them a constant.
		ext.Strings(),
		ext.Sets(),
		ext.Lists(ext.ListsVersion(3)),
		ext.TwoVarComprehensions(),
		kubeRegexLibrary(),
		cel.ASTValidators(
			cel.ValidateDurationLiterals(),
			cel.ValidateTimestampLiterals(),
			cel.ValidateRegexLiterals(),
			cel.ValidateHomogeneousAggregateLiterals(),
		),
	}
}

// programOptions are kube-apiserver's: optimized evaluation and a per-call
// cost limit, so that a runaway expression fails instead of hanging.
func programOptions() []cel.ProgramOption {
	return []cel.ProgramOption{
		cel.EvalOptions(cel.OptOptimize),
		cel.CostLimit(perCallCostLimit),
	}
}

// userTypeProvider declares kubernetes.UserInfo{username, uid, groups,
// extra} for the type checker. Field values are read at run time through
// the traits.Mapper the user is passed as (no GetFrom is declared), as
// kube-apiserver does with its lazy map.
type userTypeProvider struct {
	*types.Registry
}

var userFields = map[string]*types.Type{
	"username": types.StringType,
	"uid":      types.StringType,
	"groups":   types.NewListType(types.StringType),
	"extra":    types.NewMapType(types.StringType, types.NewListType(types.StringType)),
}

// FindStructType returns the user type by name, else defers to the registry.
func (p *userTypeProvider) FindStructType(name string) (*types.Type, bool) {
	if name == userTypeName {
		return types.NewTypeTypeWithParam(types.NewObjectType(userTypeName)), true
	}
	return p.Registry.FindStructType(name)
}

// FindStructFieldNames lists the user type's fields, else defers.
func (p *userTypeProvider) FindStructFieldNames(name string) ([]string, bool) {
	if name == userTypeName {
		return []string{"username", "uid", "groups", "extra"}, true
	}
	return p.Registry.FindStructFieldNames(name)
}

// FindStructFieldType types the user type's fields, else defers.
func (p *userTypeProvider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if name == userTypeName {
		t, ok := userFields[field]
		if !ok {
			return nil, false
		}
		return &types.FieldType{Type: t}, true
	}
	return p.Registry.FindStructFieldType(name, field)
}
