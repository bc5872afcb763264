// Package contractdoc reads the markdown tables of the repository's docs —
// docs/contract.md above all — so that tests check the code against what the
// docs promise instead of keeping a second copy of every list.
//
// A table belongs to the heading above it: Table finds the first line that
// starts with the given heading prefix (for example "### 2.4" or
// "#### Container labels") and returns the first table between that heading
// and the next one.
package contractdoc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Contract is the contract's path inside the repository.
const Contract = "docs/contract.md"

// Table returns the body rows of the table under the heading of
// docs/contract.md that starts with headingPrefix.
func Table(headingPrefix string) ([][]string, error) {
	return TableIn(Contract, headingPrefix)
}

// TableIn returns the body rows of the table under the heading that starts
// with headingPrefix in doc, a path relative to the repository root. Cells
// are trimmed and `\|` is read as a literal pipe; the header and separator
// rows are dropped. A missing heading or table, or a row whose cell count
// differs from the header's, is an error: a test must never pass because it
// read nothing.
func TableIn(doc, headingPrefix string) ([][]string, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(root, doc))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readTable(f, doc, headingPrefix)
}

func readTable(r io.Reader, doc, headingPrefix string) ([][]string, error) {
	var (
		found, inTable bool
		header         []string
		rows           [][]string
	)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			if found {
				break
			}
			found = strings.HasPrefix(line, headingPrefix)
			continue
		}
		if !found {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		cells := splitRow(line)
		switch {
		case !inTable:
			inTable, header = true, cells
		case isSeparator(cells):
		case len(cells) != len(header):
			return nil, fmt.Errorf("%s, table under %q: row %q has %d cells, the header %d", doc, headingPrefix, line, len(cells), len(header))
		default:
			rows = append(rows, cells)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	switch {
	case !found:
		return nil, fmt.Errorf("%s: no heading starting with %q", doc, headingPrefix)
	case len(rows) == 0:
		return nil, fmt.Errorf("%s: no table rows under %q", doc, headingPrefix)
	}
	return rows, nil
}

// Codes returns the code spans of a cell in order: "`a` \| `b`" gives a, b.
func Codes(cell string) []string {
	parts := strings.Split(cell, "`")
	var out []string
	// Odd parts are inside backticks.
	for i := 1; i < len(parts)-1; i += 2 {
		out = append(out, parts[i])
	}
	return out
}

// Code returns the cell's only code span, or "" when it has none or several.
func Code(cell string) string {
	if c := Codes(cell); len(c) == 1 {
		return c[0]
	}
	return ""
}

// splitRow splits "| a | b \| c |" into "a", "b | c".
func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	var cells []string
	var cell strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cell.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cell.String()))
}

func isSeparator(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, "-: ") != "" {
			return false
		}
	}
	return true
}

// repoRoot is the nearest directory above the working directory holding
// go.mod: tests run in their package's directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("contractdoc: no go.mod above the working directory")
		}
		dir = parent
	}
}
