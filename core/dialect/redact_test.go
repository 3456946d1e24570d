package dialect_test

import (
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/dialect"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		had      bool
	}{
		{"postgres://app:s3cr%40t@db:5432/app?sslmode=disable", "postgres://app:X@db:5432/app?sslmode=disable", true},
		{"postgres://app@db/app?password=s3cret&sslmode=require", "postgres://app@db/app?password=X&sslmode=require", true},
		{"postgres://db/app?sslpassword=s3cret", "postgres://db/app?sslpassword=X", true},
		{"postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", false},
		{"sqlite:///data/data.db", "sqlite:///data/data.db", false},
		{"postgres://a:b@h/d\x7f", "", true},
	} {
		got, had := dialect.RedactURL(tc.in, "X")
		if got != tc.want || had != tc.had {
			t.Errorf("RedactURL(%q) = %q, %v; want %q, %v", tc.in, got, had, tc.want, tc.had)
		}
		if strings.Contains(got, "s3c") {
			t.Errorf("RedactURL(%q) = %q keeps the secret", tc.in, got)
		}
	}
}
