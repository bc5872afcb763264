package contractdoc

import (
	"reflect"
	"strings"
	"testing"
)

const sample = "# Doc\n\n## 1. First\n\ntext\n\n| a | b |\n|---|:-:|\n| `x` | one \\| two |\n| y | `p` \\| `q` |\n\n" +
	"| other | table |\n|---|---|\n| no | no |\n\n### 1.1 Sub\n\n| c |\n|---|\n| z |\n\n## 2. Empty\n\nnothing\n\n## 3. Ragged\n\n| a | b |\n|---|---|\n| 1 |\n"

func TestReadTableTakesTheFirstTableUnderItsHeading(t *testing.T) {
	rows, err := readTable(strings.NewReader(sample), "doc", "## 1.")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"`x`", "one | two"}, {"y", "`p` | `q`"}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %q, want %q", rows, want)
	}
	if rows, err := readTable(strings.NewReader(sample), "doc", "### 1.1"); err != nil || !reflect.DeepEqual(rows, [][]string{{"z"}}) {
		t.Fatalf("subsection: %q, %v", rows, err)
	}
}

func TestReadTableRefusesWhatItCannotRead(t *testing.T) {
	for _, heading := range []string{"## 2.", "## 4.", "## 3."} {
		if rows, err := readTable(strings.NewReader(sample), "doc", heading); err == nil {
			t.Errorf("%s: got %q, want an error", heading, rows)
		}
	}
}

func TestCodes(t *testing.T) {
	if got := Codes("`p` | `q` (`r`)"); !reflect.DeepEqual(got, []string{"p", "q", "r"}) {
		t.Errorf("Codes = %q", got)
	}
	if Code("`a`") != "a" || Code("`a`, `b`") != "" || Code("plain") != "" {
		t.Error("Code must return the one code span only")
	}
}

// TestTheContractIsFound reads a real table, so a moved docs/contract.md or a
// broken root lookup fails here rather than in every other package.
func TestTheContractIsFound(t *testing.T) {
	rows, err := Table("### 2.4")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || Code(rows[0][0]) == "" {
		t.Fatalf("§2.4 rows %q", rows)
	}
}
