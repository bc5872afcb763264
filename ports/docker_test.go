package ports_test

import (
	"testing"

	"github.com/galaxy/rtmanager/ports"
)

func TestOwnedByNeedsTheOwnerAndTheDeploymentLabel(t *testing.T) {
	for _, tc := range []struct {
		name       string
		labels     map[string]string
		deployment string
		owned      bool
	}{
		{"owner and deployment match", map[string]string{ports.LabelOwner: ports.OwnerValue, ports.LabelDeployment: "eu"}, "eu", true},
		{"another deployment is foreign", map[string]string{ports.LabelOwner: ports.OwnerValue, ports.LabelDeployment: "us"}, "eu", false},
		{"no deployment label is foreign", map[string]string{ports.LabelOwner: ports.OwnerValue}, "eu", false},
		{"another owner is foreign", map[string]string{ports.LabelOwner: "someone-else", ports.LabelDeployment: "eu"}, "eu", false},
		{"no labels at all", nil, "eu", false},
		{"an empty deployment owns nothing, not even unlabelled ones", map[string]string{ports.LabelOwner: ports.OwnerValue}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ports.ContainerInfo{Labels: tc.labels}
			if got := c.OwnedBy(tc.deployment); got != tc.owned {
				t.Errorf("OwnedBy(%q) of %v = %v, want %v", tc.deployment, tc.labels, got, tc.owned)
			}
		})
	}
}
