package core

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/dialect"
)

// Index is a parsed collection index. Collections keep their indexes as
// CREATE INDEX statements, as PocketBase does; Hatchgrid parses them and
// writes them anew for the dialect, so that identifiers are always quoted
// and the statement names the collection's current table.
type Index struct {
	Name    string
	Unique  bool
	Columns []IndexColumn
	Where   string
}

// IndexColumn is one column of an index.
type IndexColumn struct {
	Name   string
	NoCase bool
	Desc   bool
}

var (
	indexPattern  = regexp.MustCompile(`(?is)^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?([` + "`" + `"\[]?)(\w+)[` + "`" + `"\]]?\s+ON\s+[` + "`" + `"\[]?(\w+)[` + "`" + `"\]]?\s*\((.+?)\)\s*(?:WHERE\s+(.+?))?\s*;?\s*$`)
	columnPattern = regexp.MustCompile(`(?is)^\s*[` + "`" + `"\[]?(\w+)[` + "`" + `"\]]?\s*(COLLATE\s+(\w+))?\s*(ASC|DESC)?\s*$`)
	// whereForbidden keeps partial-index conditions to plain expressions.
	whereForbidden = regexp.MustCompile(`(?i);|--|/\*|\bselect\b|\battach\b|\bpragma\b`)
)

// ParseIndex parses a CREATE INDEX statement.
func ParseIndex(sql string) (*Index, error) {
	m := indexPattern.FindStringSubmatch(sql)
	if m == nil {
		return nil, fmt.Errorf("not a CREATE INDEX statement")
	}
	idx := &Index{Unique: m[1] != "", Name: m[3], Where: strings.TrimSpace(m[6])}
	for _, part := range strings.Split(m[5], ",") {
		cm := columnPattern.FindStringSubmatch(part)
		if cm == nil {
			return nil, fmt.Errorf("invalid index column %q", strings.TrimSpace(part))
		}
		if cm[3] != "" && !strings.EqualFold(cm[3], "NOCASE") && !strings.EqualFold(cm[3], "BINARY") {
			return nil, fmt.Errorf("unsupported collation %q", cm[3])
		}
		idx.Columns = append(idx.Columns, IndexColumn{
			Name:   cm[1],
			NoCase: strings.EqualFold(cm[3], "NOCASE"),
			Desc:   strings.EqualFold(cm[4], "DESC"),
		})
	}
	if idx.Where != "" && whereForbidden.MatchString(idx.Where) {
		return nil, fmt.Errorf("invalid WHERE clause")
	}
	return idx, nil
}

// SQL writes the index for table on d.
func (idx *Index) SQL(d dialect.Dialect, table string) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if idx.Unique {
		b.WriteString("UNIQUE ")
	}
	fmt.Fprintf(&b, "INDEX %s ON %s (", dialect.QuoteIdent(idx.Name), dialect.QuoteIdent(table))
	for i, c := range idx.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.IndexColumn(c.Name, c.NoCase))
		if c.Desc {
			b.WriteString(" DESC")
		}
	}
	b.WriteString(")")
	if idx.Where != "" {
		b.WriteString(" WHERE " + strings.ReplaceAll(idx.Where, "`", `"`))
	}
	return b.String()
}

// String writes the index as collections store it, in PocketBase's style
// with backquoted names, for table.
func (idx *Index) String(table string) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if idx.Unique {
		b.WriteString("UNIQUE ")
	}
	fmt.Fprintf(&b, "INDEX `%s` ON `%s` (", idx.Name, table)
	for i, c := range idx.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + c.Name + "`")
		if c.NoCase {
			b.WriteString(" COLLATE NOCASE")
		}
		if c.Desc {
			b.WriteString(" DESC")
		}
	}
	b.WriteString(")")
	if idx.Where != "" {
		b.WriteString(" WHERE " + idx.Where)
	}
	return b.String()
}
