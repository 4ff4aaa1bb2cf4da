package infra_test

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// cfnTemplate is a parsed CloudFormation/SAM template. The YAML node API
// keeps CloudFormation's short tags (!Ref, !Sub, ...) as node tags, which a
// plain map decode would lose.
type cfnTemplate struct{ root *yaml.Node }

func parseTemplate(data []byte) (*cfnTemplate, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing the template: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the template is not a YAML mapping")
	}
	return &cfnTemplate{root: doc.Content[0]}, nil
}

// get returns the value of key in mapping n, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// at follows a path of mapping keys.
func at(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		n = get(n, k)
	}
	return n
}

// keysOf lists a mapping's keys in document order.
func keysOf(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

// scalar returns a scalar's value, or "" for anything else.
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// resourcesOfType lists the logical ids of the resources of one type.
func (t *cfnTemplate) resourcesOfType(typ string) []string {
	var out []string
	res := get(t.root, "Resources")
	for _, id := range keysOf(res) {
		if scalar(at(res, id, "Type")) == typ {
			out = append(out, id)
		}
	}
	return out
}

// pseudoParameters are CloudFormation's built-in references.
var pseudoParameters = []string{
	"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
	"AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
}

// samGenerated lists the names the SAM transform creates for each
// AWS::Serverless::Function and that a template may therefore reference:
// <Fn>Role (no Role given), <Fn>Alias<alias>, <Fn>.Alias and <Fn>.Version
// (AutoPublishAlias), <Fn>Url (FunctionUrlConfig), ServerlessHttpApi and
// ServerlessRestApi (implicit APIs of HttpApi/Api events).
func (t *cfnTemplate) samGenerated() map[string]bool {
	out := map[string]bool{}
	res := get(t.root, "Resources")
	for _, fn := range t.resourcesOfType("AWS::Serverless::Function") {
		props := at(res, fn, "Properties")
		if get(props, "Role") == nil {
			out[fn+"Role"] = true
		}
		if alias := scalar(get(props, "AutoPublishAlias")); alias != "" {
			out[fn+"Alias"+alias], out[fn+".Alias"], out[fn+".Version"] = true, true, true
		}
		if get(props, "FunctionUrlConfig") != nil {
			out[fn+"Url"] = true
		}
		events := get(props, "Events")
		for _, ev := range keysOf(events) {
			switch scalar(at(events, ev, "Type")) {
			case "HttpApi":
				if at(events, ev, "Properties", "ApiId") == nil {
					out["ServerlessHttpApi"] = true
				}
			case "Api":
				if at(events, ev, "Properties", "RestApiId") == nil {
					out["ServerlessRestApi"] = true
				}
			}
		}
	}
	return out
}

// refChecker checks that every reference names something that exists.
type refChecker struct {
	params, resources, conditions, generated map[string]bool
	problems                                 []string
}

func setOf(names []string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// checkReferences returns one problem per !Ref/Ref, !GetAtt, !Sub ${...},
// DependsOn or condition name that names nothing.
func (t *cfnTemplate) checkReferences() []string {
	c := &refChecker{
		params:     setOf(keysOf(get(t.root, "Parameters"))),
		resources:  setOf(keysOf(get(t.root, "Resources"))),
		conditions: setOf(keysOf(get(t.root, "Conditions"))),
		generated:  t.samGenerated(),
	}
	for _, section := range []string{"Rules", "Conditions", "Resources", "Outputs", "Globals"} {
		c.walk(get(t.root, section), section, nil, section == "Conditions")
	}
	res := get(t.root, "Resources")
	for _, id := range keysOf(res) {
		if cond := get(get(res, id), "Condition"); cond != nil {
			c.condition(scalar(cond), "Resources."+id+".Condition")
		}
		dep := get(get(res, id), "DependsOn")
		deps := []*yaml.Node{dep}
		if dep != nil && dep.Kind == yaml.SequenceNode {
			deps = dep.Content
		}
		for _, d := range deps {
			if name := scalar(d); name != "" && !c.resources[name] && !c.generated[name] {
				c.addf("Resources.%s.DependsOn: %s names no resource", id, name)
			}
		}
	}
	outs := get(t.root, "Outputs")
	for _, id := range keysOf(outs) {
		if cond := get(get(outs, id), "Condition"); cond != nil {
			c.condition(scalar(cond), "Outputs."+id+".Condition")
		}
	}
	sort.Strings(c.problems)
	return c.problems
}

func (c *refChecker) addf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *refChecker) ref(name, path string) {
	if c.params[name] || c.resources[name] || c.generated[name] ||
		slices.Contains(pseudoParameters, name) {
		return
	}
	c.addf("%s: !Ref %s names no parameter, resource or pseudo-parameter", path, name)
}

func (c *refChecker) getAtt(target, path string) {
	resource, _, _ := strings.Cut(target, ".")
	if c.resources[resource] || c.generated[resource] {
		return
	}
	c.addf("%s: !GetAtt %s names no resource", path, target)
}

func (c *refChecker) condition(name, path string) {
	if !c.conditions[name] {
		c.addf("%s: condition %q is not defined in Conditions", path, name)
	}
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (c *refChecker) sub(s, path string, locals map[string]bool) {
	for _, m := range subVar.FindAllStringSubmatch(s, -1) {
		name := strings.TrimSpace(m[1])
		switch {
		case strings.HasPrefix(name, "!"): // ${!Literal}
		case locals[name]:
		case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
			c.getAtt(name, path+" (!Sub)")
		default:
			if !c.params[name] && !c.resources[name] && !c.generated[name] && !slices.Contains(pseudoParameters, name) {
				c.addf("%s: !Sub ${%s} names no parameter, resource or pseudo-parameter", path, name)
			}
		}
	}
}

// walk visits every node, in both the short-tag and the long (Fn::) form.
// inConditions enables the {Condition: name} form, which elsewhere (IAM
// policy statements) means something else.
func (c *refChecker) walk(n *yaml.Node, path string, locals map[string]bool, inConditions bool) {
	if n == nil {
		return
	}
	switch n.Tag {
	case "!Ref":
		c.ref(n.Value, path)
		return
	case "!GetAtt":
		if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
			c.getAtt(n.Content[0].Value, path)
		} else {
			c.getAtt(n.Value, path)
		}
		return
	case "!Sub":
		c.subNode(n, path, locals, inConditions)
		return
	case "!Condition":
		c.condition(n.Value, path)
		return
	case "!If":
		if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
			c.condition(scalar(n.Content[0]), path+" (!If)")
			for _, v := range n.Content[1:] {
				c.walk(v, path, locals, inConditions)
			}
		}
		return
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for i, v := range n.Content {
			c.walk(v, fmt.Sprintf("%s[%d]", path, i), locals, inConditions)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			p := path + "." + k
			switch {
			case k == "Ref" && v.Kind == yaml.ScalarNode:
				c.ref(v.Value, p)
			case k == "Fn::GetAtt":
				c.walk(&yaml.Node{Kind: v.Kind, Tag: "!GetAtt", Value: v.Value, Content: v.Content}, p, locals, inConditions)
			case k == "Fn::Sub":
				c.subNode(v, p, locals, inConditions)
			case k == "Fn::If":
				c.walk(&yaml.Node{Kind: v.Kind, Tag: "!If", Content: v.Content}, p, locals, inConditions)
			case k == "Condition" && inConditions && v.Kind == yaml.ScalarNode:
				c.condition(v.Value, p)
			default:
				c.walk(v, p, locals, inConditions)
			}
		}
	}
}

// subNode handles !Sub "string" and !Sub [string, {Var: value}].
func (c *refChecker) subNode(n *yaml.Node, path string, locals map[string]bool, inConditions bool) {
	if n.Kind == yaml.ScalarNode {
		c.sub(n.Value, path, locals)
		return
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		c.addf("%s: malformed !Sub", path)
		return
	}
	vars := map[string]bool{}
	for k := range locals {
		vars[k] = true
	}
	if len(n.Content) > 1 {
		for i := 0; i+1 < len(n.Content[1].Content); i += 2 {
			vars[n.Content[1].Content[i].Value] = true
			c.walk(n.Content[1].Content[i+1], path+"."+n.Content[1].Content[i].Value, locals, inConditions)
		}
	}
	c.sub(scalar(n.Content[0]), path, vars)
}
