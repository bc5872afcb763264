package httpapi_test

import (
	"strconv"
	"testing"

	"github.com/galaxy/rtmanager/adapters/httpapi"
	"github.com/galaxy/rtmanager/core/domain"
	"github.com/galaxy/rtmanager/internal/contractdoc"
)

// TestStatusesAreTheContracts: the HTTP column of contract §2.4 is the
// adapter's mapping, for every code the domain knows and no other.
func TestStatusesAreTheContracts(t *testing.T) {
	rows, err := contractdoc.Table("### 2.4")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[domain.ErrorCode]int{}
	for _, r := range rows {
		status, err := strconv.Atoi(r[2])
		if err != nil {
			t.Fatalf("contract §2.4 row %q: HTTP %q is not a status", r, r[2])
		}
		documented[domain.ErrorCode(contractdoc.Code(r[0]))] = status
	}
	for _, c := range domain.AllErrorCodes {
		want, ok := documented[c]
		if !ok {
			t.Errorf("%s is not in contract §2.4", c)
			continue
		}
		if got := httpapi.HTTPStatus(c); got != want {
			t.Errorf("%s: answered with %d, contract §2.4 says %d", c, got, want)
		}
	}
	if len(documented) != len(domain.AllErrorCodes) {
		t.Errorf("contract §2.4 has %d codes, the domain %d", len(documented), len(domain.AllErrorCodes))
	}
}

func TestStatusOfNoCodeIsOKAndOfAnUnknownCodeIsInternal(t *testing.T) {
	if got := httpapi.HTTPStatus(domain.CodeNone); got != 200 {
		t.Errorf("no code: %d, want 200", got)
	}
	if got := httpapi.HTTPStatus("made_up"); got != 500 {
		t.Errorf("unknown code: %d, want 500", got)
	}
}
