package verify

import (
	"errors"
	"reflect"
	"testing"

	"github.com/go-json-experiment/json"
)

// oracle decodes b the way go-json-experiment does by default, plus our
// depth limit and "must be an object".
func oracle(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errJSONNotObject // "null" decodes to a nil map
	}
	return m, nil
}

var jsonSeeds = []string{
	`{}`, ` { "a" : 1 } `, `{"a":[1,2,{"b":null}],"c":true,"d":false}`,
	`{"s":"plain","e":"tab\tq\"bs\\sl\/u\u00e9\ud83d\ude00"}`, `{"n":-0.5e-3,"m":1E+2,"z":0}`,
	`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `{"o":{"x":1,"x":1}}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`,
	`{"a":1e400}`, `{"a":1e-400}`, `{"a":"\ud800"}`, `{"a":"\udc00\ud800"}`, "{\"a\":\"\xff\"}",
	"{\"a\":\"\x01\"}", `{"a":1}x`, `[1]`, `null`, `"s"`, `{"a":tru}`, `{"a" 1}`, `{"a":1,}`, `{,}`,
	`{"alg":"RS256","kid":"k1","typ":"JWT"}`, `{"alg":1,"kid":null,"crit":["b64"]}`, `{"alg":"RS256","alg":"none"}`,
	`{"a":[1,]}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"é":"ü"}`, `{"a":-}`, `{"a":[[[[[[[[[[]]]]]]]]]]}`,
}

// FuzzParseJSON: the local parser accepts exactly what go-json-experiment
// accepts (for objects within the depth limit) and yields the same value.
func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseObject(append([]byte(nil), b...))
		want, werr := oracle(b)
		if errors.Is(err, errJSONDepth) {
			return // the oracle's limit is 10000
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("parseObject err = %v, go-json-experiment err = %v, input %q", err, werr, b)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("parseObject = %#v, go-json-experiment = %#v", got, want)
		}
		h, herr := parseHeader(b)
		if errors.Is(herr, errJSONHeaderSize) && len(want) > maxHeaderMembers {
			return
		}
		if (herr == nil) != (werr == nil) {
			t.Fatalf("parseHeader err = %v, go-json-experiment err = %v, input %q", herr, werr, b)
		}
		if herr != nil {
			return
		}
		alg, algOK := want["alg"].(string)
		kid, kidOK := want["kid"].(string)
		_, hasAlg := want["alg"]
		_, hasKid := want["kid"]
		_, hasCrit := want["crit"]
		if h != (joseHeader{alg: alg, kid: kid, hasAlg: hasAlg, hasKid: hasKid, hasCrit: hasCrit, algIsString: algOK, kidIsString: kidOK}) {
			t.Fatalf("parseHeader = %+v for %#v", h, want)
		}
	})
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]error{
		`{"a":1,"a":2}`:       errJSONDuplicate,
		`{"a":1,"\u0061":2}`:  errJSONDuplicate,
		`{"o":{"x":1,"x":2}}`: errJSONDuplicate,
		"{\"a\":\"\xff\"}":    errJSONUTF8,
		`{"a":"\ud800"}`:      errJSONUTF8,
		`{"a":1e400}`:         errJSONRange,
		`[1]`:                 errJSONNotObject,
		`{"a":01}`:            errJSONSyntax,
		`{"a":1} {}`:          errJSONSyntax,
	} {
		if _, err := parseObject([]byte(in)); err != want {
			t.Errorf("%q: err = %v, want %v", in, err, want)
		}
	}
	m, err := parseObject([]byte(`{"s":"a\u00e9\ud83d\ude00","n":1.5,"l":["x",null,true]}`))
	want := map[string]any{"s": "aé😀", "n": 1.5, "l": []any{"x", nil, true}}
	if err != nil || !reflect.DeepEqual(m, want) {
		t.Fatalf("parseObject = %#v, %v", m, err)
	}
}
