package core_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	cases := map[error]bool{
		nil:                      false,
		errors.New("boom"):       false,
		context.DeadlineExceeded: true,
		fmt.Errorf("query: %w", &pgconn.PgError{Code: "57P01"}): true,  // admin shutdown
		fmt.Errorf("query: %w", &pgconn.PgError{Code: "53300"}): true,  // too many connections
		fmt.Errorf("query: %w", &pgconn.PgError{Code: "23505"}): false, // unique violation
	}
	for err, want := range cases {
		if got := core.IsUnavailable(err); got != want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", err, got, want)
		}
	}
}
