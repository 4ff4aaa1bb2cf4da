package claims

import (
	"cel.dev/cel-go/cel"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tokenreview/webhook/shared/config"
)

// Mapper maps the verified claims of one issuer's tokens to a user. It is
// immutable after Compile and safe for concurrent use.
type Mapper struct {
	claimRules []claimRule
	username   valueMapping
	groups     valueMapping
	uid        valueMapping
	extra      []extraMapping
	userRules  []userRule
	preset     *saPreset

	// emailVerifiedCheck is kube's check for username.claim == "email".
	emailVerifiedCheck bool
	// needClaims is true when any program reads claims.
	needClaims    bool
	allowReserved bool
}

// program is one compiled CEL expression.
type program struct {
	prg  cel.Program
	expr string
}

// valueMapping is a claim (with prefix) or a program.
type valueMapping struct {
	claim  string
	prefix string
	prog   *program
}

type extraMapping struct {
	key  string
	prog *program
}

// claimRule is claim + requiredValue, or a program with a message.
type claimRule struct {
	claim         string
	requiredValue string
	prog          *program
	message       string
}

type userRule struct {
	prog    *program
	message string
}

// Compile checks and compiles the claim mappings, validation rules and
// service-account preset of j. Every CEL expression is compiled once here.
// Errors carry field paths under path (for example
// jwt[0].claimMappings.username.expression).
func Compile(j *config.JWTAuthenticator, path *field.Path) (*Mapper, field.ErrorList) {
	e, err := envs()
	if err != nil {
		return nil, field.ErrorList{field.InternalError(path, err)}
	}
	c := &compiler{env: e, m: &Mapper{allowReserved: j.AllowReservedNames}}
	cm := j.ClaimMappings
	mp := path.Child("claimMappings")

	c.claimRules(j.ClaimValidationRules, path.Child("claimValidationRules"))
	if j.KubernetesServiceAccount != nil {
		c.preset(j.KubernetesServiceAccount, &cm, path.Child("kubernetesServiceAccount"), mp)
	} else {
		c.m.username = c.prefixed(cm.Username, mp.Child("username"), true)
		c.m.groups = c.prefixed(cm.Groups, mp.Child("groups"), false)
		c.m.uid = c.plain(cm.UID, mp.Child("uid"))
		c.m.emailVerifiedCheck = cm.Username.Claim == "email"
	}
	c.extra(cm.Extra, mp.Child("extra"))
	c.userRules(j.UserValidationRules, path.Child("userValidationRules"))

	if c.usesEmail && !c.usesEmailVerified {
		c.errs = append(c.errs, field.Invalid(mp.Child("username", "expression"), cm.Username.Expression,
			"claims.email_verified must be used in claimMappings.username.expression or claimMappings.extra[*].valueExpression or claimValidationRules[*].expression when claims.email is used in claimMappings.username.expression"))
	}
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return c.m, nil
}

// compiler accumulates the Mapper and the errors of one Compile.
type compiler struct {
	env  *envPair
	m    *Mapper
	errs field.ErrorList

	usesEmail, usesEmailVerified bool
}

// compile compiles expr in env; when wantBool, it must be a bool. An error
// is recorded under path and nil returned.
func (c *compiler) compile(env *cel.Env, expr string, path *field.Path, wantBool bool) (*program, *cel.Ast) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		c.errs = append(c.errs, field.Invalid(path, expr, "compilation failed: "+iss.Err().Error()))
		return nil, nil
	}
	if wantBool && !ast.OutputType().IsExactType(cel.BoolType) {
		c.errs = append(c.errs, field.Invalid(path, expr, "must evaluate to bool"))
		return nil, nil
	}
	prg, err := env.Program(ast, programOptions()...)
	if err != nil {
		// For example a constant regex that does not compile.
		c.errs = append(c.errs, field.Invalid(path, expr, "program instantiation failed: "+err.Error()))
		return nil, nil
	}
	return &program{prg: prg, expr: expr}, ast
}

// claimsProgram compiles an expression over claims.
func (c *compiler) claimsProgram(expr string, path *field.Path, wantBool bool) (*program, *cel.Ast) {
	p, ast := c.compile(c.env.claims, expr, path, wantBool)
	if p != nil {
		c.m.needClaims = true
	}
	return p, ast
}

// noteEmailVerified records whether ast reads claims.email_verified; only
// the username, extra and claim-rule expressions count, as in kube.
func (c *compiler) noteEmailVerified(ast *cel.Ast) {
	if ast != nil && selectsClaim(ast, "email_verified") {
		c.usesEmailVerified = true
	}
}

func (c *compiler) claimRules(rules []config.ClaimValidationRule, path *field.Path) {
	for i, r := range rules {
		p := path.Index(i)
		switch {
		case r.Claim != "" && r.Expression != "":
			c.errs = append(c.errs, field.Invalid(p, r.Claim, "claim and expression can't both be set"))
		case r.Claim != "":
			c.m.claimRules = append(c.m.claimRules, claimRule{claim: r.Claim, requiredValue: r.RequiredValue})
		case r.Expression != "":
			if prog, ast := c.claimsProgram(r.Expression, p.Child("expression"), true); prog != nil {
				c.noteEmailVerified(ast)
				c.m.claimRules = append(c.m.claimRules, claimRule{prog: prog, message: r.Message})
			}
		default:
			c.errs = append(c.errs, field.Required(p, "claim or expression is required"))
		}
	}
}

// prefixed compiles a username or groups mapping.
func (c *compiler) prefixed(m config.PrefixedClaimOrExpression, path *field.Path, required bool) valueMapping {
	switch {
	case m.Claim != "" && m.Expression != "":
		c.errs = append(c.errs, field.Invalid(path, "", "claim and expression can't both be set"))
	case m.Claim != "":
		v := valueMapping{claim: m.Claim}
		if m.Prefix != nil {
			v.prefix = *m.Prefix
		}
		return v
	case m.Expression != "":
		if m.Prefix != nil {
			c.errs = append(c.errs, field.Invalid(path.Child("prefix"), *m.Prefix, "may not be specified when expression is set"))
		}
		prog, ast := c.claimsProgram(m.Expression, path.Child("expression"), false)
		if required && prog != nil {
			// Only the username expression is subject to kube's
			// email_verified rule.
			c.usesEmail = selectsClaim(ast, "email")
			c.noteEmailVerified(ast)
		}
		return valueMapping{prog: prog}
	case required:
		c.errs = append(c.errs, field.Required(path, "claim or expression is required"))
	}
	return valueMapping{}
}

func (c *compiler) plain(m config.ClaimOrExpression, path *field.Path) valueMapping {
	switch {
	case m.Claim != "" && m.Expression != "":
		c.errs = append(c.errs, field.Invalid(path, "", "claim and expression can't both be set"))
	case m.Claim != "":
		return valueMapping{claim: m.Claim}
	case m.Expression != "":
		prog, _ := c.claimsProgram(m.Expression, path.Child("expression"), false)
		return valueMapping{prog: prog}
	}
	return valueMapping{}
}

func (c *compiler) extra(extra []config.ExtraMapping, path *field.Path) {
	for i, e := range extra {
		p := path.Index(i)
		if e.Key == "" {
			c.errs = append(c.errs, field.Required(p.Child("key"), ""))
			continue
		}
		if e.ValueExpression == "" {
			c.errs = append(c.errs, field.Required(p.Child("valueExpression"), ""))
			continue
		}
		if prog, ast := c.claimsProgram(e.ValueExpression, p.Child("valueExpression"), false); prog != nil {
			c.noteEmailVerified(ast)
			c.m.extra = append(c.m.extra, extraMapping{key: e.Key, prog: prog})
		}
	}
}

func (c *compiler) userRules(rules []config.UserValidationRule, path *field.Path) {
	for i, r := range rules {
		p := path.Index(i).Child("expression")
		if r.Expression == "" {
			c.errs = append(c.errs, field.Required(p, ""))
			continue
		}
		if prog, _ := c.compile(c.env.user, r.Expression, p, true); prog != nil {
			c.m.userRules = append(c.m.userRules, userRule{prog: prog, message: r.Message})
		}
	}
}
