package domain_test

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/galaxy/rtmanager/core/domain"
)

func FuzzValidateGameID(f *testing.F) {
	for _, s := range []string{"g", "game-1", "", ".", "..", "../x", "a/b", "a..", strings.Repeat("a", 63),
		strings.Repeat("a", 64), "igra-ё", "game\n", "game\x00", "-x", "x y", `a\b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if domain.ValidateGameID(id) != nil {
			return
		}
		if len(id) == 0 || len(id) > 63 {
			t.Fatalf("accepted %q of %d bytes", id, len(id))
		}
		if id == "." || id == ".." || strings.ContainsAny(id, "/\\\x00 \t\r\n:") {
			t.Fatalf("accepted a path-unsafe id %q", id)
		}
		if !utf8.ValidString(id) || strings.IndexFunc(id, func(r rune) bool { return r > 0x7f }) >= 0 {
			t.Fatalf("accepted a non-ASCII id %q", id)
		}
		// As a path segment it stays one level below the root.
		root := "/var/lib/galaxy/games"
		if p := filepath.Join(root, id); filepath.Dir(p) != root || filepath.Base(p) != id {
			t.Fatalf("id %q escapes the state root: %s", id, p)
		}
		// As a Docker name suffix it starts no flag and no hidden entry.
		if c := id[0]; c == '-' || c == '.' || c == '_' {
			t.Fatalf("accepted id %q with a leading %q", id, c)
		}
	})
}

func FuzzParseImageRef(f *testing.F) {
	for _, s := range []string{"galaxy/game:1.0.0", "galaxy/game", "", ":", "@", "a@sha256:x",
		"galaxy/game@" + digest, "registry.example.com:5000/galaxy/game:v1.2.3-rc.1",
		"Galaxy/Game:1", "galaxy/game:1.0.0@" + digest, "localhost:5000/x:y", "a//b:1", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ref, err := domain.ParseImageRef(raw)
		if err != nil {
			return
		}
		if ref.String() != raw {
			t.Fatalf("String() = %q, want %q", ref.String(), raw)
		}
		if ref.Repository() == "" {
			t.Fatalf("accepted %q with an empty repository", raw)
		}
		if ref.Tag() == "" && !strings.Contains(raw, "@") {
			t.Fatalf("accepted %q with neither tag nor digest", raw)
		}
		if !ref.AllowedBy(nil) || !ref.AllowedBy([]string{ref.Repository()}) {
			t.Fatalf("%q is not allowed by its own repository", raw)
		}
		_ = ref.AllowedBy([]string{"", "/", raw, "galaxy"})
		if _, err := ref.SemverTag(); err == nil {
			if code, err := domain.PatchCompatible(ref, ref); code != domain.CodeNone || err != nil {
				t.Fatalf("PatchCompatible(%q, itself) = %q, %v", raw, code, err)
			}
		} else if code, _ := domain.PatchCompatible(ref, ref); code != domain.CodeImageRefNotSemver {
			t.Fatalf("PatchCompatible(%q, itself) = %q, want image_ref_not_semver", raw, code)
		}
	})
}
