package config

import (
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/galaxy/rtmanager/internal/contractdoc"
)

// TestParseReadsExactlyTheVariables: Parse reads every listed variable once,
// in the list's order, and nothing else, so the list --help prints and the
// reference is checked against is the parser's.
func TestParseReadsExactlyTheVariables(t *testing.T) {
	var listed []string
	for _, v := range Variables() {
		listed = append(listed, Prefix+v.Name)
	}
	if got := readNames(); !slices.Equal(got, listed) {
		t.Errorf("Parse reads\n%q\nthe list has\n%q", got, listed)
	}
}

// TestEveryDefaultIsValid: each listed default parses, and each variable set
// to its own default gives the same configuration as leaving it unset.
func TestEveryDefaultIsValid(t *testing.T) {
	unset, err := Parse(lookupFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, v := range Variables() {
		env[Prefix+v.Name] = v.Default
	}
	env[Prefix+"INSTANCE_ID"] = unset.InstanceID
	set, err := Parse(lookupFrom(env))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(set, unset) {
		t.Errorf("defaults written out give\n%+v\nunset gives\n%+v", set, unset)
	}
}

// documentedDefault reads a default cell: one code span, or "empty".
func documentedDefault(t *testing.T, cell string) string {
	t.Helper()
	if cell == "empty" {
		return ""
	}
	if len(contractdoc.Codes(cell)) != 1 {
		t.Fatalf("default cell %q: want one `value` or the word empty", cell)
	}
	return contractdoc.Code(cell)
}

// TestReferenceIsTheParsers: docs/configuration.md lists exactly the
// variables Parse reads, with their defaults and units, in the same order.
func TestReferenceIsTheParsers(t *testing.T) {
	rows, err := contractdoc.TableIn("docs/configuration.md", "## Variables")
	if err != nil {
		t.Fatal(err)
	}
	var doc, code []string
	for _, r := range rows {
		name := strings.TrimPrefix(contractdoc.Code(r[0]), Prefix)
		doc = append(doc, name+" default="+strconv.Quote(documentedDefault(t, r[1]))+" unit="+r[2])
	}
	for _, v := range Variables() {
		code = append(code, v.Name+" default="+strconv.Quote(v.Default)+" unit="+v.Unit)
	}
	for _, missing := range diff(code, doc) {
		t.Errorf("the parser reads %s; docs/configuration.md does not say so", missing)
	}
	for _, extra := range diff(doc, code) {
		t.Errorf("docs/configuration.md lists %s; the parser does not read it so", extra)
	}
	if !t.Failed() && !slices.Equal(doc, code) {
		t.Errorf("docs/configuration.md lists the variables in another order than the parser reads them")
	}
}

// notYetRead are variables of contract §9 the parser does not read yet. The
// test fails once one is read, so the entry goes when its feature lands.
var notYetRead []string

// TestContractVariablesAreRead: every variable of contract §9 is read, with
// the contract's default.
func TestContractVariablesAreRead(t *testing.T) {
	rows, err := contractdoc.Table("## 9.")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		name, def := contractdoc.Code(r[0]), documentedDefault(t, r[1])
		got, read := defaults[name]
		switch {
		case slices.Contains(notYetRead, name):
			if read {
				t.Errorf("%s%s is read now: drop it from notYetRead", Prefix, name)
			}
		case !read:
			t.Errorf("contract §9 names %s%s; the parser does not read it", Prefix, name)
		case got != def:
			t.Errorf("%s%s: default %q, contract §9 says %q", Prefix, name, got, def)
		}
	}
}

func TestAnEmptyInstanceIDIsHostnameAndPid(t *testing.T) {
	c, err := Parse(lookupFrom(map[string]string{Prefix + "INSTANCE_ID": ""}))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if want := host + "-" + strconv.Itoa(os.Getpid()); c.InstanceID != want {
		t.Errorf("InstanceID = %q, want %q", c.InstanceID, want)
	}
}

// diff returns the entries of a that b lacks.
func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
