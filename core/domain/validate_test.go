package domain_test

import (
	"strings"
	"testing"

	"github.com/galaxy/rtmanager/core/domain"
)

func TestValidateGameID(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		ok   bool
	}{
		{"simple", "game-1", true},
		{"single character", "g", true},
		{"digits first", "42", true},
		{"all allowed punctuation", "A_b-c", true},
		{"51 characters is the limit", strings.Repeat("a", 51), true},
		{"51 characters at the limit with punctuation", "a" + strings.Repeat("_-", 25), true},

		{"empty", "", false},
		{"52 characters: the container name would exceed a DNS label", strings.Repeat("a", 52), false},
		{"63 characters", strings.Repeat("a", 63), false},
		{"a dot would split the engine's DNS name", "a.b", false},
		{"dots inside", "a..b", false},
		{"trailing dot", "a.", false},
		{"200 characters", strings.Repeat("a", 200), false},
		{"dot", ".", false},
		{"dot dot", "..", false},
		{"path traversal", "../x", false},
		{"nested path", "a/b", false},
		{"absolute path", "/etc", false},
		{"backslash", `a\b`, false},
		{"leading dash looks like a flag", "-game", false},
		{"leading underscore", "_game", false},
		{"leading dot hides the directory", ".game", false},
		{"inner space", "my game", false},
		{"leading space", " game", false},
		{"trailing space", "game ", false},
		{"trailing newline", "game\n", false},
		{"tab", "ga\tme", false},
		{"NUL byte", "game\x00", false},
		{"colon", "game:1", false},
		{"unicode letter", "igra-ё", false},
		{"unicode lookalike", "gаme", false}, // Cyrillic а
		{"emoji", "game🎲", false},
		{"percent encoding", "a%2F..", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := domain.ValidateGameID(tc.id)
			if tc.ok && err != nil {
				t.Fatalf("ValidateGameID(%q) = %v, want nil", tc.id, err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("ValidateGameID(%q) = nil, want an error", tc.id)
			}
		})
	}
}

func TestValidateGameIDErrorQuotesALongIDTruncated(t *testing.T) {
	err := domain.ValidateGameID(strings.Repeat("x", 500))
	if err == nil {
		t.Fatal("accepted a 500-character id")
	}
	if len(err.Error()) > 250 {
		t.Errorf("error message is %d bytes long; a hostile id must not be echoed in full", len(err.Error()))
	}
}

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseImageRefAcceptsTaggedOrDigestedReferences(t *testing.T) {
	for _, tc := range []struct {
		raw, repo, tag string
	}{
		{"galaxy/game:1.0.0", "docker.io/galaxy/game", "1.0.0"},
		{"docker.io/galaxy/game:1.0.1", "docker.io/galaxy/game", "1.0.1"},
		{"ubuntu:22.04", "docker.io/library/ubuntu", "22.04"},
		{"localhost/game:v2.0.0", "localhost/game", "v2.0.0"},
		{"registry.example.com:5000/galaxy/game:1.2.3", "registry.example.com:5000/galaxy/game", "1.2.3"},
		{"galaxy/game@" + digest, "docker.io/galaxy/game", ""},
		{"galaxy/game:1.0.0@" + digest, "docker.io/galaxy/game", "1.0.0"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			ref, err := domain.ParseImageRef(tc.raw)
			if err != nil {
				t.Fatalf("ParseImageRef = %v", err)
			}
			if ref.String() != tc.raw {
				t.Errorf("String() = %q, want the reference exactly as given", ref.String())
			}
			if ref.Repository() != tc.repo {
				t.Errorf("Repository() = %q, want %q", ref.Repository(), tc.repo)
			}
			if ref.Tag() != tc.tag {
				t.Errorf("Tag() = %q, want %q", ref.Tag(), tc.tag)
			}
		})
	}
}

func TestParseImageRefRefusesMalformedOrImplicitReferences(t *testing.T) {
	for _, tc := range []struct{ name, raw string }{
		{"empty", ""},
		{"no tag means an implicit latest", "galaxy/game"},
		{"empty tag", "galaxy/game:"},
		{"upper-case repository", "Galaxy/Game:1.0.0"},
		{"space in tag", "galaxy/game:1.0 .0"},
		{"leading space", " galaxy/game:1.0.0"},
		{"tag only", ":1.0.0"},
		{"URL scheme", "https://galaxy/game:1.0.0"},
		{"short digest", "galaxy/game@sha256:abc"},
		{"tag too long", "galaxy/game:" + strings.Repeat("1", 129)},
		{"double colon", "galaxy/game::1"},
		{"newline", "galaxy/game:1.0.0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ref, err := domain.ParseImageRef(tc.raw); err == nil {
				t.Fatalf("ParseImageRef(%q) = %v, want an error", tc.raw, ref.Repository())
			}
		})
	}
}

func TestImageRefAllowedBy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ref      string
		prefixes []string
		want     bool
	}{
		{"no list allows everything", "evil/image:1.0.0", nil, true},
		{"empty list allows everything", "evil/image:1.0.0", []string{}, true},
		{"familiar namespace", "galaxy/game:1.0.0", []string{"galaxy"}, true},
		{"trailing slash on the prefix", "galaxy/game:1.0.0", []string{"galaxy/"}, true},
		{"normalised namespace", "galaxy/game:1.0.0", []string{"docker.io/galaxy"}, true},
		{"exact repository", "galaxy/game:1.0.0", []string{"galaxy/game"}, true},
		{"one of several", "galaxy/game:1.0.0", []string{"other", "galaxy"}, true},
		{"private registry", "registry.example.com:5000/galaxy/game:1.0.0", []string{"registry.example.com:5000/galaxy"}, true},
		{"digest reference", "galaxy/game@" + digest, []string{"galaxy"}, true},
		{"library image by its familiar name", "ubuntu:22.04", []string{"ubuntu"}, true},

		{"prefix must end on a path boundary", "galaxy/game:1.0.0", []string{"galaxy/ga"}, false},
		{"partial namespace", "galaxy/game:1.0.0", []string{"galax"}, false},
		{"same path on another registry", "evil.example.com/galaxy/game:1.0.0", []string{"galaxy"}, false},
		{"another registry's namespace", "galaxy/game:1.0.0", []string{"registry.example.com/galaxy"}, false},
		{"longer prefix than the repository", "galaxy/game:1.0.0", []string{"galaxy/game/sub"}, false},
		{"an empty entry allows nothing by itself", "galaxy/game:1.0.0", []string{""}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := mustRef(t, tc.ref)
			if got := ref.AllowedBy(tc.prefixes); got != tc.want {
				t.Errorf("AllowedBy(%q) = %v, want %v", tc.prefixes, got, tc.want)
			}
		})
	}
}

func TestImageRefSemverTag(t *testing.T) {
	for _, tc := range []struct {
		ref  string
		want string // "" when the tag is not semver
	}{
		{"galaxy/game:1.0.0", "1.0.0"},
		{"galaxy/game:v1.2.3", "1.2.3"},
		{"galaxy/game:1.0.1-rc.1", "1.0.1-rc.1"},
		{"galaxy/game:10.20.30", "10.20.30"},
		{"galaxy/game:1.0", ""},
		{"galaxy/game:1", ""},
		{"galaxy/game:latest", ""},
		{"galaxy/game:v", ""},
		{"galaxy/game:01.0.0", ""},
		{"galaxy/game:1.0.0.0", ""},
		{"galaxy/game@" + digest, ""},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			v, err := mustRef(t, tc.ref).SemverTag()
			if tc.want == "" {
				if err == nil {
					t.Fatalf("SemverTag = %s, want an error", v)
				}
				return
			}
			if err != nil {
				t.Fatalf("SemverTag = %v", err)
			}
			if v.String() != tc.want {
				t.Errorf("SemverTag = %s, want %s", v, tc.want)
			}
		})
	}
}

func TestPatchCompatible(t *testing.T) {
	for _, tc := range []struct {
		name, current, next string
		want                domain.ErrorCode
	}{
		{"patch upgrade", "galaxy/game:1.0.0", "galaxy/game:1.0.1", domain.CodeNone},
		{"patch downgrade", "galaxy/game:1.0.5", "galaxy/game:1.0.1", domain.CodeNone},
		{"pre-release of the same minor", "galaxy/game:1.0.0", "galaxy/game:1.0.1-rc.1", domain.CodeNone},
		{"v prefix on one side", "galaxy/game:v1.0.0", "galaxy/game:1.0.2", domain.CodeNone},
		{"same repository spelled normalised", "galaxy/game:1.0.0", "docker.io/galaxy/game:1.0.1", domain.CodeNone},

		{"minor change", "galaxy/game:1.0.0", "galaxy/game:1.1.0", domain.CodeSemverPatchOnly},
		{"major change", "galaxy/game:1.0.0", "galaxy/game:2.0.0", domain.CodeSemverPatchOnly},
		{"minor downgrade", "galaxy/game:1.1.0", "galaxy/game:1.0.9", domain.CodeSemverPatchOnly},
		{"another repository", "galaxy/game:1.0.0", "other/game:1.0.1", domain.CodeSemverPatchOnly},

		{"new tag not semver", "galaxy/game:1.0.0", "galaxy/game:latest", domain.CodeImageRefNotSemver},
		{"current tag not semver", "galaxy/game:latest", "galaxy/game:1.0.1", domain.CodeImageRefNotSemver},
		{"both not semver", "galaxy/game:old", "galaxy/game:new", domain.CodeImageRefNotSemver},
		{"current digest only", "galaxy/game@" + digest, "galaxy/game:1.0.1", domain.CodeImageRefNotSemver},
		{"new two-part version", "galaxy/game:1.0.0", "galaxy/game:1.0", domain.CodeImageRefNotSemver},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := domain.PatchCompatible(mustRef(t, tc.current), mustRef(t, tc.next))
			if code != tc.want {
				t.Fatalf("PatchCompatible = %q (%v), want %q", code, err, tc.want)
			}
			if (err == nil) != (tc.want == domain.CodeNone) {
				t.Errorf("error = %v with code %q; an error must come exactly with a refusal", err, code)
			}
		})
	}
}

func mustRef(t *testing.T, raw string) domain.ImageRef {
	t.Helper()
	ref, err := domain.ParseImageRef(raw)
	if err != nil {
		t.Fatalf("ParseImageRef(%q): %v", raw, err)
	}
	return ref
}
