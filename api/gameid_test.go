package api_test

import (
	"testing"

	"github.com/galaxy/rtmanager/core/domain"
)

// TestGameIDSchemaIsTheDomainRule: the contract states the domain's game id
// rule itself, not a copy that can drift: the same pattern and length bound,
// used by the path parameter every endpoint takes.
func TestGameIDSchemaIsTheDomainRule(t *testing.T) {
	doc := load(t)
	schema := doc.Components.Schemas["GameId"].Value
	if schema.Pattern != domain.GameIDPattern {
		t.Errorf("GameId pattern %q, domain.GameIDPattern %q", schema.Pattern, domain.GameIDPattern)
	}
	if schema.MaxLength == nil || *schema.MaxLength != domain.MaxGameIDLength || schema.MinLength != 1 {
		t.Errorf("GameId length %d..%v, want 1..%d", schema.MinLength, schema.MaxLength, domain.MaxGameIDLength)
	}
	param := doc.Components.Parameters["GameId"].Value
	if param.In != "path" || param.Schema.Value != schema {
		t.Errorf("the game_id parameter does not use the GameId schema: %+v", param)
	}
}
