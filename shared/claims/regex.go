package claims

import (
	"regexp"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
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

// ProgramOptions compiles constant patterns once, when the program is
// built, as kube-apiserver does; a bad constant pattern fails there.
func (regexLib) ProgramOptions() []cel.ProgramOption {
	return []cel.ProgramOption{cel.OptimizeRegex(
		&interpreter.RegexOptimization{Function: "find", RegexIndex: 1, Factory: compiledRegexCall(func(re *regexp.Regexp, args []ref.Val) ref.Val {
			return findWith(re, args[0])
		})},
		&interpreter.RegexOptimization{Function: "findAll", RegexIndex: 1, Factory: compiledRegexCall(func(re *regexp.Regexp, args []ref.Val) ref.Val {
			return findAllWith(re, args)
		})},
	)}
}

// compiledRegexCall builds a RegexOptimization factory: the pattern is
// compiled once and impl receives it with the call's arguments.
func compiledRegexCall(impl func(*regexp.Regexp, []ref.Val) ref.Val) func(interpreter.InterpretableCall, string) (interpreter.InterpretableCall, error) {
	return func(call interpreter.InterpretableCall, pattern string) (interpreter.InterpretableCall, error) {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, err
		}
		return interpreter.NewCall(call.ID(), call.Function(), call.OverloadID(), call.Args(), func(args ...ref.Val) ref.Val {
			if len(args) < 2 || len(args) > 3 {
				return types.NoSuchOverloadErr()
			}
			return impl(re, args)
		}), nil
	}
}

// compilePattern compiles a pattern computed at run time.
func compilePattern(v ref.Val) (*regexp.Regexp, ref.Val) {
	pattern, ok := v.(types.String)
	if !ok {
		return nil, types.MaybeNoSuchOverloadErr(v)
	}
	re, err := regexp.Compile(string(pattern))
	if err != nil {
		return nil, types.NewErr("Illegal regex: %v", err.Error())
	}
	return re, nil
}

func regexFind(strVal, reVal ref.Val) ref.Val {
	re, errVal := compilePattern(reVal)
	if errVal != nil {
		return errVal
	}
	return findWith(re, strVal)
}

func regexFindAll(args ...ref.Val) ref.Val {
	if len(args) < 2 || len(args) > 3 {
		return types.NoSuchOverloadErr()
	}
	re, errVal := compilePattern(args[1])
	if errVal != nil {
		return errVal
	}
	return findAllWith(re, args)
}

func findWith(re *regexp.Regexp, strVal ref.Val) ref.Val {
	str, ok := strVal.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(strVal)
	}
	return types.String(re.FindString(string(str)))
}

// findAllWith is findAll(args[0], _, args[2] or -1).
func findAllWith(re *regexp.Regexp, args []ref.Val) ref.Val {
	str, ok := args[0].(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(args[0])
	}
	n := types.Int(-1)
	if len(args) == 3 {
		if n, ok = args[2].(types.Int); !ok {
			return types.MaybeNoSuchOverloadErr(args[2])
		}
	}
	return types.NewStringList(types.DefaultTypeAdapter, re.FindAllString(string(str), int(n)))
}
