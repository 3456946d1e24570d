package security_test

import (
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/security"
)

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := security.NewID()
		if len(id) != 15 {
			t.Fatalf("len(%q) = %d, want 15", id, len(id))
		}
		for _, r := range id {
			if !strings.ContainsRune(security.IDAlphabet, r) {
				t.Fatalf("id %q has %q outside [a-z0-9]", id, r)
			}
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestRandomStringUsesWholeAlphabet(t *testing.T) {
	t.Parallel()
	s := security.RandomString(5000, "ab")
	if a := strings.Count(s, "a"); a < 2000 || a > 3000 {
		t.Fatalf("%d of 5000 are 'a': not uniform", a)
	}
}
