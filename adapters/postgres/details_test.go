package postgres_test

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/galaxy/rtmanager/ports"
)

// detailsCases are the JSON shapes details must survive unchanged.
var detailsCases = []struct {
	name    string
	details map[string]any
}{
	{"nil is stored as an empty object", nil},
	{"an empty object", map[string]any{}},
	{"nested objects", map[string]any{
		"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": "deep"}}},
		"":  map[string]any{"empty key": true},
	}},
	{"arrays of mixed values", map[string]any{
		"list":  []any{1, "two", []any{3, []any{}}, map[string]any{"four": 4}, nil, true},
		"empty": []any{},
	}},
	{"unicode, emoji and escapes", map[string]any{
		"кириллица":  "значение",
		"emoji":      "🚀 👩‍🚀 🇺🇦",
		"cjk":        "漢字かな",
		"rtl":        "שלום مرحبا",
		"controls":   "\x01\x07\x1f\t\n\r",
		"quotes":     `"'\/`,
		"html":       "<script>&amp;</script>",
		"separators": "\u2028\u2029",
		"replaced":   "\ufffd",
	}},
	{"numbers: negative, large, fractional, exponents", map[string]any{
		"zero":      0,
		"negative":  -42,
		"min_int64": int64(math.MinInt64),
		"max_int64": int64(math.MaxInt64),
		"beyond_53": int64(1<<53 + 1),
		"fraction":  -0.125,
		"pi":        math.Pi,
		"tiny":      1e-300,
		"huge":      1.5e300,
		"max_float": math.MaxFloat64,
	}},
	{"booleans and null", map[string]any{"yes": true, "no": false, "nothing": nil}},
	{"a health-event shape", map[string]any{
		"reason": "restart_count_increased", "restart_count": 3, "docker_status": "running", "health_status": "",
	}},
}

func TestDetailsRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)

	for i, tc := range detailsCases {
		t.Run("operation log: "+tc.name, func(t *testing.T) {
			op := operation("ops-" + itoa(i))
			op.Details = tc.details
			if _, err := s.Operations().Append(t.Context(), op); err != nil {
				t.Fatalf("Append: %v", err)
			}
			got, err := s.Operations().List(t.Context(), ports.ListOperationsQuery{GameID: op.GameID, Limit: 1})
			if err != nil || len(got) != 1 {
				t.Fatalf("List: %v, %d rows", err, len(got))
			}
			assertDetailsEqual(t, got[0].Details, tc.details)
		})
		t.Run("health snapshot: "+tc.name, func(t *testing.T) {
			snap := snapshot("health-"+itoa(i), at(0))
			snap.Details = tc.details
			if err := s.Health().Upsert(t.Context(), snap); err != nil {
				t.Fatalf("Upsert: %v", err)
			}
			got, err := s.Health().Get(t.Context(), snap.GameID)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			assertDetailsEqual(t, got.Details, tc.details)
		})
	}

	t.Run("integers beyond 2^53 come back digit for digit", func(t *testing.T) {
		op := operation("exact-ints")
		op.Details = map[string]any{"n": int64(1<<62 + 1), "neg": int64(math.MinInt64)}
		if _, err := s.Operations().Append(t.Context(), op); err != nil {
			t.Fatalf("Append: %v", err)
		}
		got, err := s.Operations().List(t.Context(), ports.ListOperationsQuery{GameID: op.GameID, Limit: 1})
		if err != nil || len(got) != 1 {
			t.Fatalf("List: %v, %d rows", err, len(got))
		}
		b, err := json.Marshal(got[0].Details)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"n":4611686018427387905,"neg":-9223372036854775808}`; string(b) != want {
			t.Fatalf("read back %s, want %s", b, want)
		}
	})

	t.Run("a value JSON cannot carry is refused before the database", func(t *testing.T) {
		op := operation("nan")
		op.Details = map[string]any{"x": math.NaN()}
		if _, err := s.Operations().Append(t.Context(), op); err == nil {
			t.Fatal("Append stored NaN")
		}
	})
}

// assertDetailsEqual compares details as JSON values. What was read must also
// be a non-nil map, so it marshals as {} rather than null.
func assertDetailsEqual(t *testing.T, got, wrote map[string]any) {
	t.Helper()
	if got == nil {
		t.Fatal("details read back as nil map")
	}
	want := wrote
	if want == nil {
		want = map[string]any{}
	}
	if g, w := normalizeJSON(t, got), normalizeJSON(t, want); !reflect.DeepEqual(g, w) {
		t.Fatalf("details changed\n got: %s\nwant: %s", dump(g), dump(w))
	}
}
