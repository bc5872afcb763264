package contractdoc_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/galaxy/rtmanager/internal/contractdoc"
	"github.com/galaxy/rtmanager/internal/testenv"
	"github.com/galaxy/rtmanager/ports"
)

// documented returns the first column of a label table, as code spans.
func documented(t *testing.T, heading string) map[string]string {
	t.Helper()
	rows, err := contractdoc.Table(heading)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		label := contractdoc.Code(r[0])
		if label == "" {
			t.Fatalf("%s: row %q names no label", heading, r)
		}
		out[label] = r[1]
	}
	return out
}

// labelConstants returns the values of the constants named Label* in a
// package directory, read from its source so that a label added there later
// is seen without this test being edited.
func labelConstants(t *testing.T, dir string) []string {
	t.Helper()
	path := filepath.Join(testenv.RepoRoot(t), dir)
	entries, err := os.ReadDir(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(path, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Label") || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: %s is not a string literal", dir, name.Name)
					}
					v, _ := strconv.Unquote(lit.Value)
					out = append(out, v)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestContainerLabelsAreTheDocumentedOnes(t *testing.T) {
	doc := documented(t, "#### Container labels")
	code := labelConstants(t, "ports")
	if want := slices.Sorted(maps.Keys(doc)); !slices.Equal(code, want) {
		t.Errorf("ports Label* constants %q, contract §3 container labels %q", code, want)
	}
	for label, value := range map[string]string{ports.LabelOwner: ports.OwnerValue, ports.LabelKind: ports.KindValue} {
		if got := contractdoc.Code(doc[label]); got != value {
			t.Errorf("%s: contract says %q, code sets %q", label, got, value)
		}
	}
}

func TestImageLabelsAreTheDocumentedOnes(t *testing.T) {
	doc := documented(t, "#### Image labels")
	code := labelConstants(t, "core/limits")
	if want := slices.Sorted(maps.Keys(doc)); !slices.Equal(code, want) {
		t.Errorf("core/limits Label* constants %q, contract §3 image labels %q", code, want)
	}
}
