package claims

import (
	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
)

// selectsClaim reports whether the checked expression selects
// claims.<name> or claims.?<name> anywhere, including inside macros and
// comprehensions. It mirrors kube-apiserver's hasSelectExp
// (pkg/apis/apiserver/validation): claims["<name>"] does not count.
func selectsClaim(a *cel.Ast, name string) bool {
	if a == nil {
		return false
	}
	root := ast.NavigateAST(a.NativeRep())
	return len(ast.MatchDescendants(root, func(e ast.NavigableExpr) bool {
		switch e.Kind() {
		case ast.SelectKind:
			s := e.AsSelect()
			return s.FieldName() == name && isIdent(s.Operand(), claimsVar)
		case ast.CallKind:
			c := e.AsCall()
			if c.FunctionName() != operators.OptSelect || c.IsMemberFunction() || len(c.Args()) != 2 {
				return false
			}
			lit := c.Args()[1]
			return isIdent(c.Args()[0], claimsVar) && lit.Kind() == ast.LiteralKind &&
				lit.AsLiteral() == types.String(name)
		}
		return false
	})) > 0
}

func isIdent(e ast.Expr, name string) bool {
	return e.Kind() == ast.IdentKind && e.AsIdent() == name
}
