package filter

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is the SQL type of a resolved value.
type Type int

// Value types. Unknown values are compared as they come.
const (
	TypeUnknown Type = iota
	TypeText
	TypeNumber
	TypeBool
	TypeJSON
	TypeNull
)

// Value is a resolved operand: an SQL expression with its parameters.
type Value struct {
	SQL  string
	Args []any
	Type Type
	// NotNull is set when the expression can never be NULL, which lets
	// equality use plain = (and the indexes that need it).
	NotNull bool
	// Multi, when set, makes the value range over the rows of a correlated
	// subquery: SQL then refers to columns of Multi.From.
	Multi *Multi
	// Guard, when set, is a condition (with its parameters in GuardArgs)
	// that every comparison of the value must meet as well: a value the
	// caller may not read, such as a hidden email, then matches nothing,
	// whatever the operator, the other side or the modifier. A sort by
	// the value sorts by NULL where the guard fails.
	Guard     string
	GuardArgs []any
}

// Multi is the row source of a value with several values per record,
// e.g. a relation path: "FROM ... WHERE <correlation>".
type Multi struct {
	From string
	Args []any
}

// Param returns a parameter value of the Go value v.
func Param(v any) Value {
	switch v.(type) {
	case nil:
		return Value{SQL: "NULL", Type: TypeNull}
	case bool:
		return Value{SQL: "?", Args: []any{v}, Type: TypeBool, NotNull: true}
	case int, int64, float64:
		return Value{SQL: "?", Args: []any{v}, Type: TypeNumber, NotNull: true}
	case string:
		// No database text holds NUL or invalid UTF-8 (PostgreSQL refuses
		// them outright), so no stored value can equal them either.
		s := strings.ReplaceAll(v.(string), "\x00", "")
		s = strings.ToValidUTF8(s, "\uFFFD")
		return Value{SQL: "?", Args: []any{s}, Type: TypeText, NotNull: true}
	}
	return Value{SQL: "?", Args: []any{fmt.Sprint(v)}, Type: TypeText, NotNull: true}
}

// Resolver tells what identifiers mean.
type Resolver interface {
	// Resolve returns the value of an identifier such as "title",
	// "author.name", "@request.auth.id" or "@now".
	Resolve(identifier string) (Value, error)
}

// FunctionResolver is a Resolver that also gives functions, such as
// @can('posts', 'update'), their meaning. The compiler hands it the
// function's name and its arguments as parsed (identifiers, text, numbers)
// and uses the value it returns like any other operand; with a plain
// Resolver every function is invalid.
type FunctionResolver interface {
	Resolver
	ResolveFunction(name string, args []Operand) (Value, error)
}

// Dialect is what the compiler needs from the SQL dialect.
type Dialect interface {
	// Like is a case-insensitive LIKE of expr against pattern, both SQL
	// expressions, with \ as the escape character.
	Like(expr, pattern string) string
	// CastText converts expr to text.
	CastText(expr string) string
	// NullSafeEq is an equality that treats NULLs as equal values.
	NullSafeEq(a, b string, negate bool) string
}

// Compile compiles node to an SQL condition and its parameters.
func Compile(node Node, r Resolver, d Dialect) (string, []any, error) {
	c := &compiler{r: r, d: d}
	sql, args, err := c.node(node)
	if err != nil {
		return "", nil, err
	}
	return sql, args, nil
}

// CompileString parses and compiles expr.
func CompileString(expr string, r Resolver, d Dialect) (string, []any, error) {
	node, err := Parse(expr)
	if err != nil {
		return "", nil, err
	}
	return Compile(node, r, d)
}

type compiler struct {
	r Resolver
	d Dialect
}

func (c *compiler) node(n Node) (string, []any, error) {
	switch v := n.(type) {
	case And:
		return c.join(v, " AND ")
	case Or:
		return c.join(v, " OR ")
	case Cmp:
		return c.cmp(v)
	}
	return "", nil, fmt.Errorf("%w: unknown node", ErrInvalid)
}

func (c *compiler) join(items []Node, sep string) (string, []any, error) {
	parts := make([]string, 0, len(items))
	var args []any
	for _, item := range items {
		sql, a, err := c.node(item)
		if err != nil {
			return "", nil, err
		}
		parts = append(parts, sql)
		args = append(args, a...)
	}
	return "(" + strings.Join(parts, sep) + ")", args, nil
}

func (c *compiler) operand(o Operand) (Value, error) {
	switch o.Kind {
	case Text:
		return Param(o.Value), nil
	case Number:
		f, err := strconv.ParseFloat(o.Value, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%w: bad number %q", ErrInvalid, o.Value)
		}
		return Param(f), nil
	case Identifier:
		switch strings.ToLower(o.Value) {
		case "true":
			return Param(true), nil
		case "false":
			return Param(false), nil
		case "null":
			return Param(nil), nil
		}
		return c.r.Resolve(o.Value)
	case Function:
		if fr, ok := c.r.(FunctionResolver); ok {
			return fr.ResolveFunction(o.Value, o.Args)
		}
		return Value{}, fmt.Errorf("%w: unsupported function %s()", ErrInvalid, o.Value)
	}
	return Value{}, fmt.Errorf("%w: unknown operand", ErrInvalid)
}

func (c *compiler) cmp(e Cmp) (string, []any, error) {
	l, err := c.operand(e.Left)
	if err != nil {
		return "", nil, err
	}
	r, err := c.operand(e.Right)
	if err != nil {
		return "", nil, err
	}
	l, r = harmonize(l, r, c.d)
	if isConst(l) && isConst(r) {
		// Both sides are known now (literals, @request values): decide here.
		// Besides saving the database the work, this avoids comparing two
		// untyped parameters, which PostgreSQL cannot type.
		if evalConst(constOf(l), e.Op, constOf(r)) {
			return "1 = 1", nil, nil
		}
		return "1 = 0", nil, nil
	}

	// Multi-valued sides: "any" needs one row to match, "all" needs every
	// row to match and at least one row.
	build := func(l, r Value) (string, []any) {
		sql, args := c.compare(l, e.Op, r)
		return guarded(sql, args, l, r)
	}
	if r.Multi != nil {
		inner := build
		build = func(l, rr Value) (string, []any) {
			single := rr
			single.Multi = nil
			sql, args := inner(l, single)
			return exists(r.Multi, sql, args)
		}
	}
	if l.Multi == nil {
		sql, args := build(l, r)
		return sql, args, nil
	}
	single := l
	single.Multi = nil
	cond, args := build(single, r)
	if e.Any {
		sql, a := exists(l.Multi, cond, args)
		return sql, a, nil
	}
	all := "(EXISTS (SELECT 1 " + l.Multi.From + ") AND NOT EXISTS (SELECT 1 " + l.Multi.From + " AND (" + cond + ") IS NOT TRUE))"
	out := append(append(append([]any{}, l.Multi.Args...), l.Multi.Args...), args...)
	return all, out, nil
}

// guarded ANDs the guards of the compared values before the comparison
// sql.
func guarded(sql string, args []any, vs ...Value) (string, []any) {
	var conds []string
	var out []any
	for _, v := range vs {
		if v.Guard != "" {
			conds = append(conds, "("+v.Guard+")")
			out = append(out, v.GuardArgs...)
		}
	}
	if len(conds) == 0 {
		return sql, args
	}
	return "(" + strings.Join(conds, " AND ") + " AND (" + sql + "))", append(out, args...)
}

func exists(m *Multi, cond string, args []any) (string, []any) {
	return "EXISTS (SELECT 1 " + m.From + " AND (" + cond + "))", append(append([]any{}, m.Args...), args...)
}

// compare builds one comparison of single values.
func (c *compiler) compare(l Value, op Op, r Value) (string, []any) {
	args := func(vs ...Value) []any {
		var out []any
		for _, v := range vs {
			out = append(out, v.Args...)
		}
		return out
	}
	if l.Type == TypeNull || r.Type == TypeNull {
		v := l
		if l.Type == TypeNull {
			v = r
		}
		isEmpty := "(" + v.SQL + " IS NULL"
		a := args(v)
		if v.Type == TypeText || v.Type == TypeUnknown {
			isEmpty += " OR " + c.text(v) + " = ''"
			a = append(a, v.Args...)
		}
		isEmpty += ")"
		if l.Type == TypeNull && r.Type == TypeNull {
			isEmpty, a = "1 = 1", nil
		}
		switch op {
		case OpEq, OpLike:
			return isEmpty, a
		case OpNeq, OpNlike:
			return "NOT " + isEmpty, a
		}
		return "1 = 0", nil // ordering against null matches nothing
	}

	switch op {
	case OpEq, OpNeq:
		if l.NotNull && r.NotNull {
			return l.SQL + " " + string(op) + " " + r.SQL, args(l, r)
		}
		return c.d.NullSafeEq(l.SQL, r.SQL, op == OpNeq), args(l, r)
	case OpLike, OpNlike:
		pattern := r
		if len(r.Args) == 1 && r.SQL == "?" {
			pattern = Param(likePattern(fmt.Sprint(r.Args[0])))
		} else {
			pattern.SQL = "('%' || " + c.text(r) + " || '%')"
		}
		sql := c.d.Like(c.text(l), pattern.SQL)
		if op == OpNlike {
			sql = "NOT " + sql
		}
		return sql, args(l, pattern)
	}
	return l.SQL + " " + string(op) + " " + r.SQL, args(l, r)
}

// text is v's SQL as text, cast only when it is not text already.
func (c *compiler) text(v Value) string {
	if v.Type == TypeText {
		return v.SQL
	}
	return c.d.CastText(v.SQL)
}

// likePattern wraps a contains-value in % unless it has its own %, and
// escapes _ and \ so they match themselves.
func likePattern(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "_", `\_`)
	if !strings.Contains(s, "%") {
		s = "%" + s + "%"
	}
	return s
}

// harmonize makes both sides comparable: a literal takes the type of the
// column it is compared with (PocketBase's loose coercion), and columns of
// different types are compared as text.
func harmonize(l, r Value, d Dialect) (Value, Value) {
	if l.Type == r.Type || l.Type == TypeNull || r.Type == TypeNull || l.Type == TypeUnknown || r.Type == TypeUnknown {
		return l, r
	}
	if isParam(r) {
		if v, ok := coerce(r.Args[0], l.Type); ok {
			return l, Param(v)
		}
	}
	if isParam(l) {
		if v, ok := coerce(l.Args[0], r.Type); ok {
			return Param(v), r
		}
	}
	toText := func(v Value) Value {
		if isParam(v) {
			return Param(fmt.Sprint(v.Args[0]))
		}
		v.SQL = d.CastText(v.SQL)
		v.Type = TypeText
		return v
	}
	return toText(l), toText(r)
}

func isParam(v Value) bool {
	return v.SQL == "?" && len(v.Args) == 1 && v.Multi == nil && v.Guard == ""
}

// coerce converts a literal to typ the way PocketBase's filters do.
func coerce(v any, typ Type) (any, bool) {
	switch typ {
	case TypeText:
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), true
		case bool:
			return strconv.FormatBool(x), true
		case string:
			return x, true
		}
	case TypeNumber:
		switch x := v.(type) {
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			return f, err == nil
		case bool:
			if x {
				return 1.0, true
			}
			return 0.0, true
		case float64:
			return x, true
		}
	case TypeBool:
		switch x := v.(type) {
		case string:
			b, err := strconv.ParseBool(x)
			return b, err == nil
		case float64:
			return x != 0, true
		case bool:
			return x, true
		}
	}
	return nil, false
}

func isConst(v Value) bool {
	return isParam(v) || (v.Type == TypeNull && v.Multi == nil && v.Guard == "")
}

func constOf(v Value) any {
	if v.Type == TypeNull {
		return nil
	}
	return v.Args[0]
}

// evalConst compares two constants the way the SQL would.
func evalConst(l any, op Op, r any) bool {
	if l == nil || r == nil {
		// null matches empty values only, as in compare.
		empty := func(v any) bool { return v == nil || v == "" }
		eq := empty(l) && empty(r)
		switch op {
		case OpEq, OpLike:
			return eq
		case OpNeq, OpNlike:
			return !eq
		}
		return false
	}
	lf, lnum := asNumber(l)
	rf, rnum := asNumber(r)
	ls, rs := fmt.Sprint(l), fmt.Sprint(r)
	cmp := strings.Compare(ls, rs)
	if lnum && rnum {
		switch {
		case lf < rf:
			cmp = -1
		case lf > rf:
			cmp = 1
		default:
			cmp = 0
		}
	}
	switch op {
	case OpEq:
		return cmp == 0
	case OpNeq:
		return cmp != 0
	case OpLt:
		return cmp < 0
	case OpLte:
		return cmp <= 0
	case OpGt:
		return cmp > 0
	case OpGte:
		return cmp >= 0
	case OpLike, OpNlike:
		found := likeMatch(strings.ToLower(ls), strings.ToLower(rs))
		return found == (op == OpLike)
	}
	return false
}

func asNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// likeMatch reports whether s contains sub, or, when sub has % wildcards,
// whether s matches it as a LIKE pattern (with _ literal).
func likeMatch(s, sub string) bool {
	if !strings.Contains(sub, "%") {
		return strings.Contains(s, sub)
	}
	parts := strings.Split(sub, "%")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, last)
}
