package claims

import (
	"regexp"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// kubeRegexLibrary declares kube-apiserver's regex CEL functions
// (k8s.io/apiserver/pkg/cel/library/regex.go), which cel.dev/cel-go lacks:
//
//	'abc 123'.find('[0-9]+')            // '123'
//	'123 abc 456'.findAll('[0-9]+')     // ['123', '456']
//	'123 abc 456'.findAll('[0-9]+', 1)  // ['123']
//
// The standard matches() is part of CEL itself.
func kubeRegexLibrary() cel.EnvOption {
	return cel.Lib(regexLib{})
}

type regexLib struct{}

// LibraryName makes the library a singleton in an environment.
func (regexLib) LibraryName() string { return "tokenreview.kubernetes.regex" }

// CompileOptions declares find and findAll.
func (regexLib) CompileOptions() []cel.EnvOption {
	return []cel.EnvOption{
		cel.Function("find",
			cel.MemberOverload("string_find_string", []*cel.Type{cel.StringType, cel.StringType}, cel.StringType,
				cel.BinaryBinding(regexFind))),
		cel.Function("findAll",
			cel.MemberOverload("string_find_all_string", []*cel.Type{cel.StringType, cel.StringType},
				cel.ListType(cel.StringType),
				cel.BinaryBinding(func(s, re ref.Val) ref.Val { return regexFindAll(s, re, types.Int(-1)) })),
			cel.MemberOverload("string_find_all_string_int", []*cel.Type{cel.StringType, cel.StringType, cel.IntType},
				cel.ListType(cel.StringType),
				cel.FunctionBinding(regexFindAll))),
	}
}

// ProgramOptions adds nothing.
func (regexLib) ProgramOptions() []cel.ProgramOption { return nil }

func regexFind(strVal, reVal ref.Val) ref.Val {
	str, ok := strVal.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(strVal)
	}
	pattern, ok := reVal.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(reVal)
	}
	re, err := regexp.Compile(string(pattern))
	if err != nil {
		return types.NewErr("Illegal regex: %v", err.Error())
	}
	return types.String(re.FindString(string(str)))
}

func regexFindAll(args ...ref.Val) ref.Val {
	if len(args) < 2 || len(args) > 3 {
		return types.NoSuchOverloadErr()
	}
	str, ok := args[0].(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(args[0])
	}
	pattern, ok := args[1].(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(args[1])
	}
	n := types.Int(-1)
	if len(args) == 3 {
		if n, ok = args[2].(types.Int); !ok {
			return types.MaybeNoSuchOverloadErr(args[2])
		}
	}
	re, err := regexp.Compile(string(pattern))
	if err != nil {
		return types.NewErr("Illegal regex: %v", err.Error())
	}
	return types.NewStringList(types.DefaultTypeAdapter, re.FindAllString(string(str), int(n)))
}
