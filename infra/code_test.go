package infra_test

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tokenreview/webhook/shared/configsource"
	yaml "go.yaml.in/yaml/v3"
)

// requiredInLambda are the variables the function needs in Lambda: its
// configuration comes from shared/configsource, and of its three sources
// only these two work there (the zip holds nothing but bootstrap, so a
// file path has nothing to point at). The template sets both, each under
// a condition; a CloudFormation rule makes exactly one non-empty.
var requiredInLambda = []string{configsource.EnvInline, configsource.EnvParameter}

const configsourceImport = "github.com/tokenreview/webhook/shared/configsource"

// repo is what the template is checked against: the repository root and the
// Makefile text (given separately so a test can mutate it).
type repo struct {
	root     string
	makefile []byte
}

// checkFunctions returns the problems of every AWS::Serverless::Function:
// CodeUri and the build target must lead to a main package, and the
// environment the template sets must match what that code reads.
func (t *cfnTemplate) checkFunctions(r repo) []string {
	var problems []string
	res := get(t.root, "Resources")
	for _, fn := range t.resourcesOfType("AWS::Serverless::Function") {
		pkgDir, err := r.mainPackageDir(fn, get(res, fn))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", fn, err))
			continue
		}
		problems = append(problems, r.checkEnv(fn, pkgDir, at(res, fn, "Properties", "Environment", "Variables"))...)
	}
	sort.Strings(problems)
	return problems
}

// mainPackageDir resolves the directory of the Go main package that SAM
// builds for one function, and checks it is a main package.
func (r repo) mainPackageDir(fn string, res *yaml.Node) (string, error) {
	props := get(res, "Properties")
	codeURI := scalar(get(props, "CodeUri"))
	if codeURI == "" {
		return "", fmt.Errorf("no CodeUri")
	}
	dir := filepath.Join(r.root, codeURI)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("CodeUri %q is not a directory of the repository", codeURI)
	}
	handler := scalar(get(props, "Handler"))
	var pkgDir string
	switch method := scalar(at(res, "Metadata", "BuildMethod")); method {
	case "makefile":
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
			return "", fmt.Errorf("CodeUri %q holds no go.mod, but the makefile builder runs the build there", codeURI)
		}
		makefile := r.makefile
		if filepath.Clean(dir) != filepath.Clean(r.root) {
			var err error
			if makefile, err = os.ReadFile(filepath.Join(dir, "Makefile")); err != nil {
				return "", fmt.Errorf("CodeUri %q holds no Makefile: %w", codeURI, err)
			}
		}
		pkg, err := buildTargetPackage(makefile, "build-"+fn, handler)
		if err != nil {
			return "", err
		}
		pkgDir = filepath.Join(dir, pkg)
	case "go1.x":
		pkgDir = dir
	default:
		return "", fmt.Errorf("Metadata.BuildMethod %q: want makefile or go1.x", method)
	}
	ctx := lambdaBuildContext()
	p, err := ctx.ImportDir(pkgDir, 0)
	if err != nil {
		return "", fmt.Errorf("%s holds no Go package: %w", rel(r.root, pkgDir), err)
	}
	if p.Name != "main" {
		return "", fmt.Errorf("%s is package %s, not a main package", rel(r.root, pkgDir), p.Name)
	}
	return pkgDir, nil
}

// lambdaBuildContext selects files as the Lambda build does.
func lambdaBuildContext() build.Context {
	ctx := build.Default
	ctx.GOOS, ctx.CgoEnabled, ctx.BuildTags = "linux", false, []string{"lambda.norpc"}
	return ctx
}

func rel(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return "./" + filepath.ToSlash(r)
	}
	return path
}

var makeAssign = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*(?:\?=|:=|::=|=)\s*(.*)$`)
var makeVarRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// buildTargetPackage finds the `go build` of a Makefile target and returns
// the package it builds. The command must carry -tags lambda.norpc and
// write $(ARTIFACTS_DIR)/<handler>.
func buildTargetPackage(makefile []byte, target, handler string) (string, error) {
	vars := map[string]string{}
	var recipe []string
	inTarget := false
	sc := bufio.NewScanner(bytes.NewReader(makefile))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "\t"):
			if inTarget && !strings.HasPrefix(strings.TrimSpace(line), "#") {
				recipe = append(recipe, strings.TrimSpace(line))
			}
		case strings.HasPrefix(line, target+":"):
			inTarget = true
		default:
			if m := makeAssign.FindStringSubmatch(line); m != nil {
				vars[m[1]] = strings.TrimSpace(m[2])
			}
			if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "#") {
				inTarget = false
			}
		}
	}
	if len(recipe) == 0 {
		return "", fmt.Errorf("the Makefile has no recipe for %s", target)
	}
	for _, line := range recipe {
		for i := 0; i < 5; i++ { // nested variables
			line = makeVarRef.ReplaceAllStringFunc(line, func(ref string) string {
				name := makeVarRef.FindStringSubmatch(ref)[1]
				if v, ok := vars[name]; ok && name != "ARTIFACTS_DIR" {
					return v
				}
				return ref
			})
		}
		fields := strings.Fields(line)
		gi := indexOfPair(fields, "go", "build")
		if gi < 0 {
			continue
		}
		if !strings.Contains(line, "-tags lambda.norpc") {
			return "", fmt.Errorf("%s builds without -tags lambda.norpc", target)
		}
		if !strings.Contains(line, "-o $(ARTIFACTS_DIR)/"+handler) {
			return "", fmt.Errorf("%s does not write $(ARTIFACTS_DIR)/%s (the Handler)", target, handler)
		}
		for i := len(fields) - 1; i > gi; i-- {
			if strings.HasPrefix(fields[i], "./") || fields[i] == "." {
				return fields[i], nil
			}
		}
		return "", fmt.Errorf("%s: no ./package argument in %q", target, line)
	}
	return "", fmt.Errorf("%s runs no go build", target)
}

func indexOfPair(fields []string, a, b string) int {
	for i := 0; i+1 < len(fields); i++ {
		if strings.HasSuffix(fields[i], a) && fields[i+1] == b {
			return i
		}
	}
	return -1
}

// checkEnv compares the variables the template sets with the ones the
// deployed code reads.
func (r repo) checkEnv(fn, pkgDir string, vars *yaml.Node) []string {
	read, imports, err := envReadBy(r.root, pkgDir)
	if err != nil {
		return []string{fmt.Sprintf("%s: scanning the code: %v", fn, err)}
	}
	var problems []string
	set := map[string]bool{}
	for _, name := range keysOf(vars) {
		set[name] = true
		if !read[name] {
			problems = append(problems, fmt.Sprintf("%s: environment variable %s is set by the template but not read by the code it deploys", fn, name))
		}
	}
	if !imports[configsourceImport] {
		problems = append(problems, fmt.Sprintf("%s: %s does not use shared/configsource, so TOKENREVIEW_CONFIG* would be ignored", fn, rel(r.root, pkgDir)))
	}
	for _, name := range requiredInLambda {
		if !set[name] {
			problems = append(problems, fmt.Sprintf("%s: environment variable %s, read in Lambda through shared/configsource, is not set by the template", fn, name))
		}
	}
	return problems
}

var envName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$`)

// envReadBy scans the main package and every package of this module it
// imports, transitively, for environment variable names: literal arguments
// of Getenv/LookupEnv-like calls and string constants shaped like one.
func envReadBy(root, pkgDir string) (read, imports map[string]bool, err error) {
	modPath, err := modulePath(root)
	if err != nil {
		return nil, nil, err
	}
	ctx := lambdaBuildContext()
	read, imports = map[string]bool{}, map[string]bool{}
	queue := []string{pkgDir}
	seen := map[string]bool{}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		if seen[dir] {
			continue
		}
		seen[dir] = true
		p, err := ctx.ImportDir(dir, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", rel(root, dir), err)
		}
		for _, f := range p.GoFiles {
			if err := scanEnvNames(filepath.Join(dir, f), read); err != nil {
				return nil, nil, err
			}
		}
		for _, imp := range p.Imports {
			if imp == modPath || strings.HasPrefix(imp, modPath+"/") {
				imports[imp] = true
				queue = append(queue, filepath.Join(root, strings.TrimPrefix(imp, modPath)))
			}
		}
	}
	return read, imports, nil
}

func modulePath(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("reading go.mod: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("go.mod has no module line")
}

var envCalls = map[string]bool{"Getenv": true, "LookupEnv": true, "getenv": true, "lookupEnv": true}

func scanEnvNames(path string, into map[string]bool) error {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			name := ""
			switch fun := n.Fun.(type) {
			case *ast.Ident:
				name = fun.Name
			case *ast.SelectorExpr:
				name = fun.Sel.Name
			}
			if envCalls[name] {
				for _, a := range n.Args {
					if s, ok := stringLit(a); ok {
						into[s] = true
					}
				}
			}
		case *ast.GenDecl:
			if n.Tok != token.CONST {
				return true
			}
			for _, spec := range n.Specs {
				for _, v := range spec.(*ast.ValueSpec).Values {
					if s, ok := stringLit(v); ok && envName.MatchString(s) {
						into[s] = true
					}
				}
			}
		}
		return true
	})
	return nil
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
