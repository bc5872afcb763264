package api_test

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/galaxy/rtmanager/api"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/testenv"
)

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestLoadValidates(t *testing.T) {
	doc := load(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	// Load has validated the document, examples included (kin-openapi's
	// default), so every example is a valid instance of its schema.
}

// specTable reads the endpoint table of SPEC §5 as "METHOD path operationId"
// lines, with "—" for an endpoint without operationId.
func specTable(t *testing.T) []string {
	t.Helper()
	path := filepath.Join(testenv.RepoRoot(t), "..", "shared", "SPEC.md")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the product specification is needed to check the contract against it: %v", err)
	}
	defer f.Close()
	var rows []string
	inSection := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inSection = strings.HasPrefix(line, "## 5.")
			continue
		}
		if !inSection || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 3 {
			continue
		}
		method := strings.TrimSpace(cells[0])
		if !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, method) {
			continue // header and separator rows
		}
		unquote := func(s string) string { return strings.Trim(strings.TrimSpace(s), "`") }
		rows = append(rows, method+" "+unquote(cells[1])+" "+unquote(cells[2]))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: found no endpoint table in §5", path)
	}
	slices.Sort(rows)
	return rows
}

func TestOperationsMatchSpecTable(t *testing.T) {
	want := specTable(t)
	var got []string
	for path, item := range load(t).Paths.Map() {
		for method, op := range item.Operations() {
			id := op.OperationID
			if id == "" {
				id = "—"
			}
			got = append(got, method+" "+path+" "+id)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("operations of api/openapi.yaml differ from SPEC §5\n got: %q\nwant: %q", got, want)
	}
}

// TestEnumsMirrorDomain: the contract's enums are the domain's, in the
// domain's order where the contract freezes it (stop reasons).
func TestEnumsMirrorDomain(t *testing.T) {
	doc := load(t)
	enum := func(schema string) []string {
		s, ok := doc.Components.Schemas[schema]
		if !ok {
			t.Fatalf("no schema %s", schema)
		}
		var out []string
		for _, v := range s.Value.Enum {
			out = append(out, v.(string))
		}
		return out
	}
	sameSet := func(name string, got, want []string) {
		t.Helper()
		g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
		if !slices.Equal(g, w) {
			t.Errorf("%s: contract %q, domain %q", name, got, want)
		}
	}
	sameSet("RuntimeStatus", enum("RuntimeStatus"), strs(domain.AllStatuses))
	sameSet("OperationKind", enum("OperationKind"), strs(domain.AllOpKinds))
	sameSet("OperationSource", enum("OperationSource"), strs(domain.AllOpSources))
	sameSet("Outcome", enum("Outcome"), strs(domain.AllOutcomes))
	sameSet("ErrorCode", enum("ErrorCode"), strs(domain.AllErrorCodes))
	sameSet("OperationErrorCode", enum("OperationErrorCode"), append([]string{""}, strs(domain.AllErrorCodes)...))
	sameSet("HealthStatus", enum("HealthStatus"), strs(domain.AllHealthStatuses))
	sameSet("HealthSource", enum("HealthSource"), strs(domain.AllHealthSources))
	sameSet("HealthEventType", enum("HealthEventType"), strs(domain.AllHealthEventTypes))
	if got, want := enum("StopReason"), strs(domain.AllStopReasons); !slices.Equal(got, want) {
		t.Errorf("StopReason: contract %q, domain %q (the order is frozen)", got, want)
	}
}

func strs[S ~string](vs []S) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// TestGameIDPatternMatchesDomain: the contract refuses exactly the game ids
// the domain refuses.
func TestGameIDPatternMatchesDomain(t *testing.T) {
	schema := load(t).Components.Schemas["GameId"].Value
	for _, id := range []string{"game-42", "a", "A.b_c-9", strings.Repeat("x", 63), "", "-a", ".a", "../x", "a b",
		"a/b", strings.Repeat("x", 64), strings.Repeat("x", 200), "ü"} {
		contract := schema.VisitJSON(id) == nil
		dom := domain.ValidateGameID(id) == nil
		if contract != dom {
			t.Errorf("game_id %q: contract accepts=%v, domain accepts=%v", id, contract, dom)
		}
	}
}
