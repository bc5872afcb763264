package domain

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/distribution/reference"
)

// GameIDPattern is the rule every game id follows. galaxy-game-{game_id} is
// the container name, its hostname, the name other services resolve on the
// network and a Swarm service name, so it must be one DNS label: at most 63
// characters (hence at most MaxGameIDLength for the id) and no dot. It is also
// a host path segment, so it cannot start with a dot or a dash.
const GameIDPattern = `^[A-Za-z0-9][A-Za-z0-9_-]{0,50}$`

// MaxGameIDLength is the longest game id GameIDPattern admits.
const MaxGameIDLength = 51

// GameIDRule says GameIDPattern in words, for error messages and help texts.
const GameIDRule = "1 to 51 characters: ASCII letters, digits, '_' and '-', starting with a letter or digit"

var gameIDPattern = regexp.MustCompile(GameIDPattern)

// ValidateGameID checks a game id against GameIDPattern.
func ValidateGameID(id string) error {
	if !gameIDPattern.MatchString(id) {
		return fmt.Errorf("game_id %q is invalid: %s", truncate(id, 80), GameIDRule)
	}
	return nil
}

// NoRuntimeMessage is the one wording of "this game has no runtime record",
// whichever entry point answers it.
func NoRuntimeMessage(gameID string) string {
	return fmt.Sprintf("no runtime for game %s", gameID)
}

// ImageRef is a parsed, normalised engine image reference.
type ImageRef struct {
	raw   string
	named reference.Named
}

// ParseImageRef parses a Docker image reference (name[:tag][@digest]).
// Only references that carry a tag or a digest are accepted: "latest" by
// omission would make the engine version implicit, which RTM never decides.
func ParseImageRef(raw string) (ImageRef, error) {
	if raw == "" {
		return ImageRef{}, errors.New("image_ref is empty")
	}
	named, err := reference.ParseNormalizedNamed(raw)
	if err != nil {
		return ImageRef{}, fmt.Errorf("image_ref %q: %v", truncate(raw, 200), err)
	}
	_, tagged := named.(reference.Tagged)
	_, digested := named.(reference.Digested)
	if !tagged && !digested {
		return ImageRef{}, fmt.Errorf("image_ref %q has no tag", truncate(raw, 200))
	}
	return ImageRef{raw: raw, named: named}, nil
}

// String is the reference exactly as the caller gave it.
func (r ImageRef) String() string { return r.raw }

// Repository is the normalised repository (e.g. docker.io/galaxy/game).
func (r ImageRef) Repository() string { return r.named.Name() }

// Tag is the tag, or "" for a digest-only reference.
func (r ImageRef) Tag() string {
	if t, ok := r.named.(reference.Tagged); ok {
		return t.Tag()
	}
	return ""
}

// AllowedBy reports whether the reference falls under one of the repository
// prefixes. An empty list allows everything. A prefix matches either the
// reference as written or its normalised repository, on a path boundary.
func (r ImageRef) AllowedBy(prefixes []string) bool {
	if len(prefixes) == 0 {
		return true
	}
	familiar := reference.FamiliarName(r.named)
	for _, p := range prefixes {
		p = strings.TrimSuffix(p, "/")
		for _, name := range []string{familiar, r.named.Name()} {
			if name == p || strings.HasPrefix(name, p+"/") {
				return true
			}
		}
	}
	return false
}

// SemverTag parses the reference's tag as a semantic version (a leading "v" allowed).
func (r ImageRef) SemverTag() (*semver.Version, error) {
	tag := r.Tag()
	if tag == "" {
		return nil, fmt.Errorf("image_ref %q has no tag", r.raw)
	}
	v, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
	if err != nil {
		return nil, fmt.Errorf("tag %q of %q is not semver", tag, r.raw)
	}
	return v, nil
}

// PatchCompatible checks that a patch from current to next changes only the
// patch level (and pre-release/build): same repository, major and minor.
// It returns the contract's error code on refusal.
func PatchCompatible(current, next ImageRef) (ErrorCode, error) {
	cv, err := current.SemverTag()
	if err != nil {
		return CodeImageRefNotSemver, fmt.Errorf("current %v", err)
	}
	nv, err := next.SemverTag()
	if err != nil {
		return CodeImageRefNotSemver, err
	}
	if cv.Major() != nv.Major() || cv.Minor() != nv.Minor() {
		return CodeSemverPatchOnly, fmt.Errorf("patch may change only the patch level: %s → %s", cv, nv)
	}
	if current.Repository() != next.Repository() {
		return CodeSemverPatchOnly, fmt.Errorf("patch may not change the repository: %s → %s", current.Repository(), next.Repository())
	}
	return CodeNone, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
