package api_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/galaxy/rtmanager/api"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/contractdoc"
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

// contractOperations reads the operations table of contract §5 as
// "METHOD path operationId" lines, with "—" for an endpoint without an
// operationId.
func contractOperations(t *testing.T) []string {
	t.Helper()
	rows, err := contractdoc.Table("## 5.")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		id := contractdoc.Code(r[2])
		if r[2] == "—" {
			id = "—"
		}
		out = append(out, r[0]+" "+contractdoc.Code(r[1])+" "+id)
	}
	slices.Sort(out)
	return out
}

func TestOperationsMatchTheContract(t *testing.T) {
	want := contractOperations(t)
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
		t.Errorf("operations of api/openapi.yaml differ from contract §5\n got: %q\nwant: %q", got, want)
	}
}

// TestErrorCodesAreTheContracts: the codes of contract §2.4 are exactly the
// domain's, in its order.
func TestErrorCodesAreTheContracts(t *testing.T) {
	rows, err := contractdoc.Table("### 2.4")
	if err != nil {
		t.Fatal(err)
	}
	var doc []string
	for _, r := range rows {
		doc = append(doc, contractdoc.Code(r[0]))
	}
	if got := strs(domain.AllErrorCodes); !slices.Equal(doc, got) {
		t.Errorf("contract §2.4 codes %q, domain.AllErrorCodes %q", doc, got)
	}
}

// TestDomainEnumsAreTheContracts: every enum of contract §2.3 lists exactly
// the domain's values, in the domain's order (the order of stop reasons is
// frozen, and one order everywhere keeps the lists comparable by eye).
func TestDomainEnumsAreTheContracts(t *testing.T) {
	rows, err := contractdoc.Table("### 2.3")
	if err != nil {
		t.Fatal(err)
	}
	domainEnums := map[string][]string{
		"Status":          strs(domain.AllStatuses),
		"OpKind":          strs(domain.AllOpKinds),
		"OpSource":        strs(domain.AllOpSources),
		"Outcome":         strs(domain.AllOutcomes),
		"StopReason":      strs(domain.AllStopReasons),
		"HealthEventType": strs(domain.AllHealthEventTypes),
		"HealthStatus":    strs(domain.AllHealthStatuses),
		"HealthSource":    strs(domain.AllHealthSources),
		"PullPolicy":      strs(domain.AllPullPolicies),
	}
	seen := map[string]bool{}
	for _, r := range rows {
		typ := contractdoc.Code(r[1])
		want, ok := domainEnums[typ]
		if !ok {
			t.Errorf("contract §2.3 names %q, which this test does not know in core/domain", r[1])
			continue
		}
		seen[typ] = true
		if doc := contractdoc.Codes(r[2]); !slices.Equal(doc, want) {
			t.Errorf("%s: contract %q, domain %q", typ, doc, want)
		}
	}
	for typ := range domainEnums {
		if !seen[typ] {
			t.Errorf("contract §2.3 does not list %s", typ)
		}
	}
}

// TestHealthEventTableCoversEveryType: contract §6.5 says who emits each
// health event type and with which details; every type has its row.
func TestHealthEventTableCoversEveryType(t *testing.T) {
	rows, err := contractdoc.Table("#### Health event details")
	if err != nil {
		t.Fatal(err)
	}
	var doc []string
	for _, r := range rows {
		doc = append(doc, contractdoc.Code(r[0]))
	}
	if want := strs(domain.AllHealthEventTypes); !slices.Equal(doc, want) {
		t.Errorf("contract §6.5 details rows %q, domain types %q", doc, want)
	}
}

// TestNotificationTypesAreTheContracts: the notification types of contract
// §6.4 are exactly those the domain owes for a failed start.
func TestNotificationTypesAreTheContracts(t *testing.T) {
	rows, err := contractdoc.Table("### 6.4")
	if err != nil {
		t.Fatal(err)
	}
	var doc []string
	for _, r := range rows {
		if contractdoc.Code(r[0]) == "notification_type" {
			doc = contractdoc.Codes(r[1])
		}
	}
	var code []string
	for _, c := range domain.AllErrorCodes {
		if nt, ok := domain.NotificationForCode(c); ok {
			code = append(code, string(nt))
		}
	}
	slices.Sort(doc)
	slices.Sort(code)
	if len(doc) == 0 || !slices.Equal(doc, code) {
		t.Errorf("contract §6.4 notification types %q, domain %q", doc, code)
	}
}

// TestGameIDRuleIsTheContracts: the rule of contract §2.1 is the domain's
// pattern and length (TestGameIDPatternMatchesDomain holds the OpenAPI
// GameId schema to the domain).
func TestGameIDRuleIsTheContracts(t *testing.T) {
	rows, err := contractdoc.Table("#### Game id rule")
	if err != nil {
		t.Fatal(err)
	}
	rule := map[string]string{}
	for _, r := range rows {
		rule[r[0]] = contractdoc.Code(r[1])
	}
	if rule["pattern"] != domain.GameIDPattern {
		t.Errorf("contract pattern %q, domain %q", rule["pattern"], domain.GameIDPattern)
	}
	if rule["maximum length"] != strconv.Itoa(domain.MaxGameIDLength) {
		t.Errorf("contract maximum length %q, domain %d", rule["maximum length"], domain.MaxGameIDLength)
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
