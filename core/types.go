package core

import (
	"database/sql/driver"
	"errors"
	"time"
)

// DateTimeLayout is the layout of every date Hatchgrid stores and sends,
// PocketBase's: UTC with milliseconds.
const DateTimeLayout = "2006-01-02 15:04:05.000Z"

// FormatTime formats t in DateTimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(DateTimeLayout) }

// JSONRaw is a JSON document stored in a JSON (SQLite) or JSONB (PostgreSQL)
// column and sent as-is.
type JSONRaw []byte

// Value implements driver.Valuer. Sent as text, which both dialects parse.
func (j JSONRaw) Value() (driver.Value, error) {
	if len(j) == 0 {
		return nil, nil
	}
	return string(j), nil
}

// Scan implements sql.Scanner.
func (j *JSONRaw) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = append((*j)[:0], v...)
	case string:
		*j = JSONRaw(v)
	default:
		return errors.New("JSONRaw: unsupported source type")
	}
	return nil
}

// MarshalJSON implements json.Marshaler; an empty document is null.
func (j JSONRaw) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return j, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (j *JSONRaw) UnmarshalJSON(b []byte) error {
	*j = append((*j)[:0], b...)
	return nil
}

// ListResult is one page of a list, in PocketBase's shape. With skipTotal,
// TotalItems and TotalPages are -1.
type ListResult[T any] struct {
	Items      []T `json:"items"`
	Page       int `json:"page"`
	PerPage    int `json:"perPage"`
	TotalItems int `json:"totalItems"`
	TotalPages int `json:"totalPages"`
}

// ListParams are the paging parameters of a list request, already
// normalised by NormalizePaging.
type ListParams struct {
	Page      int
	PerPage   int
	SkipTotal bool
}

// Paging limits, PocketBase's.
const (
	DefaultPerPage = 30
	MaxPerPage     = 1000
)

// NormalizePaging applies PocketBase's defaults: page below 1 is 1, perPage
// 0 or below is 30, above 1000 is 1000.
func NormalizePaging(p ListParams) ListParams {
	if p.Page < 1 {
		p.Page = 1
	}
	if p.PerPage <= 0 {
		p.PerPage = DefaultPerPage
	}
	if p.PerPage > MaxPerPage {
		p.PerPage = MaxPerPage
	}
	return p
}
