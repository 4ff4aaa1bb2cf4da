package config

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzLoad: Load never panics, and whatever it accepts encodes to JSON
// that loads again to an equal Config. Seeds are in
// testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load(data)
		if err != nil {
			if cfg != nil {
				t.Fatalf("Load returned a Config with error %v", err)
			}
			return
		}
		out, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("marshal a loaded Config: %v", err)
		}
		again, err := Load(out)
		if err != nil {
			t.Fatalf("reload of %s: %v", out, err)
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("reload differs:\nfirst  %#v\nsecond %#v\njson %s", cfg, again, out)
		}
	})
}
