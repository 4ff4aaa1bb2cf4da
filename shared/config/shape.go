package config

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// extensionOnlyDetail is the message for a WebhookConfiguration field used
// in a kube AuthenticationConfiguration.
const extensionOnlyDetail = "only allowed in kind " + WebhookKind + " (apiVersion " + WebhookAPIVersion +
	"): kube-apiserver's " + KubeKind + " has no such field, so this file would not mean the same there"

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	durationType   = reflect.TypeFor[metav1.Duration]()
)

// checkShape walks the decoded JSON tree against the Config type and reports
// unknown fields, values of the wrong type, unparsable durations, and
// extension fields in a kube file (struct tag tokenreview:"extension"). Each
// offending value is removed from the tree so that the rest can still be
// decoded and validated. Keys are visited in sorted order, so the report is
// stable.
func checkShape(root map[string]any, kind string) field.ErrorList {
	var errs field.ErrorList
	walkObject(root, reflect.TypeFor[Config](), nil, kind == KubeKind, &errs)
	return errs
}

func walkObject(obj map[string]any, t reflect.Type, p *field.Path, kube bool, errs *field.ErrorList) {
	fields := jsonFields(t)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fp := child(p, k)
		sf, ok := fields[k]
		switch {
		case !ok:
			*errs = append(*errs, &field.Error{Type: field.ErrorTypeForbidden, Field: fp.String(), BadValue: field.OmitValueType{}, Detail: "unknown field"})
			delete(obj, k)
		case kube && sf.Tag.Get("tokenreview") == "extension":
			*errs = append(*errs, field.Forbidden(fp, extensionOnlyDetail))
			delete(obj, k)
		default:
			if !walkValue(obj[k], sf.Type, fp, kube, errs) {
				delete(obj, k)
			}
		}
	}
}

// walkValue reports whether v fits t; when it does not, the error is
// recorded and the caller drops v.
func walkValue(v any, t reflect.Type, p *field.Path, kube bool, errs *field.ErrorList) bool {
	if v == nil || t == rawMessageType {
		return true // null leaves the zero value; a raw message takes anything
	}
	if t.Kind() == reflect.Pointer {
		return walkValue(v, t.Elem(), p, kube, errs)
	}
	ok := false
	switch {
	case t == durationType:
		s, isString := v.(string)
		if isString {
			if _, err := time.ParseDuration(s); err != nil {
				*errs = append(*errs, field.Invalid(p, s, `must be a duration such as "30s" or "5m"`))
				return false
			}
			ok = true
		}
	case t.Kind() == reflect.String:
		_, ok = v.(string)
	case t.Kind() == reflect.Bool:
		_, ok = v.(bool)
	case t.Kind() == reflect.Int:
		if n, isNum := v.(json.Number); isNum {
			if i, err := n.Int64(); err != nil || i < math.MinInt32 || i > math.MaxInt32 {
				*errs = append(*errs, field.TypeInvalid(p, n.String(), "must be a whole number between -2147483648 and 2147483647"))
				return false
			}
			ok = true
		}
	case t.Kind() == reflect.Slice:
		var list []any
		if list, ok = v.([]any); ok {
			for i := range list {
				if !walkValue(list[i], t.Elem(), p.Index(i), kube, errs) {
					list[i] = nil
				}
			}
		}
	case t.Kind() == reflect.Struct:
		var obj map[string]any
		if obj, ok = v.(map[string]any); ok {
			walkObject(obj, t, p, kube, errs)
		}
	}
	if !ok {
		*errs = append(*errs, field.TypeInvalid(p, field.OmitValueType{}, fmt.Sprintf("must be %s, not %s", describeType(t), describeJSON(v))))
	}
	return ok
}

// jsonFields maps JSON names to the struct fields of t.
func jsonFields(t reflect.Type) map[string]reflect.StructField {
	out := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" || !sf.IsExported() {
			continue
		}
		out[name] = sf
	}
	return out
}

func describeType(t reflect.Type) string {
	switch {
	case t == durationType:
		return `a duration string such as "30s"`
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "a boolean"
	case t.Kind() == reflect.Int:
		return "an integer"
	case t.Kind() == reflect.Slice:
		return "a list"
	default:
		return "an object"
	}
}

func describeJSON(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case []any:
		return "a list"
	default:
		return "an object"
	}
}

func child(p *field.Path, name string) *field.Path {
	if p == nil {
		return field.NewPath(name)
	}
	return p.Child(name)
}

// duplicateKeys finds keys repeated in one mapping, with their paths and
// lines. The YAML-to-JSON conversion would keep only the last one.
func duplicateKeys(data []byte) (errs field.ErrorList) {
	defer func() {
		// A parser failure is reported by the conversion that follows.
		if recover() != nil {
			errs = nil
		}
	}()
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(data, &doc); err != nil {
		return nil
	}
	walkNode(&doc, nil, &errs)
	return errs
}

func walkNode(n *yamlv3.Node, p *field.Path, errs *field.ErrorList) {
	switch n.Kind {
	case yamlv3.DocumentNode:
		for _, c := range n.Content {
			walkNode(c, p, errs)
		}
	case yamlv3.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			fp := child(p, key.Value)
			if line, dup := seen[key.Value]; dup {
				*errs = append(*errs, &field.Error{Type: field.ErrorTypeDuplicate, Field: fp.String(), BadValue: field.OmitValueType{},
					Detail: fmt.Sprintf("field appears more than once (lines %d and %d)", line, key.Line)})
				continue
			}
			seen[key.Value] = key.Line
			walkNode(val, fp, errs)
		}
	case yamlv3.SequenceNode:
		if p == nil {
			return
		}
		for i, c := range n.Content {
			walkNode(c, p.Index(i), errs)
		}
	}
}
