package filter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ganigeorgiev/fexpr"
)

// MaxLength is the longest filter accepted, PocketBase's limit.
const MaxLength = 3500

// maxDepth bounds parenthesis nesting, so hostile input cannot exhaust the
// stack.
const maxDepth = 32

// ErrInvalid is wrapped by every parse and compile error.
var ErrInvalid = errors.New("invalid filter")

// Node is an AST node: And, Or or Cmp.
type Node interface{ node() }

// And is a conjunction; Or a disjunction.
type (
	And []Node
	Or  []Node
)

// Cmp is one comparison.
type Cmp struct {
	Left  Operand
	Op    Op
	Any   bool // the ?-form: any of the left values matches
	Right Operand
}

// Op is a comparison operator without its any-of prefix.
type Op string

// The operators.
const (
	OpEq    Op = "="
	OpNeq   Op = "!="
	OpLike  Op = "~"
	OpNlike Op = "!~"
	OpLt    Op = "<"
	OpLte   Op = "<="
	OpGt    Op = ">"
	OpGte   Op = ">="
)

// OperandKind tells what an operand token is.
type OperandKind int

// Operand kinds.
const (
	Identifier OperandKind = iota
	Text
	Number
	Function
)

// Operand is one side of a comparison.
type Operand struct {
	Kind  OperandKind
	Value string    // identifier, text, number or function name
	Args  []Operand // function arguments
}

func (And) node() {}
func (Or) node()  {}
func (Cmp) node() {}

// Parse parses a filter expression.
func Parse(expr string) (Node, error) {
	if len(expr) > MaxLength {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrInvalid, MaxLength)
	}
	if nestingDepth(expr) > maxDepth {
		// Checked before the tokenizer, whose work grows with the square
		// of the nesting.
		return nil, fmt.Errorf("%w: nested too deeply", ErrInvalid)
	}
	groups, err := fexpr.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return fromGroups(groups, 0)
}

// fromGroups builds the tree of a flat fexpr group list: || splits it into
// terms, each an && of items, which gives && the higher precedence.
func fromGroups(groups []fexpr.ExprGroup, depth int) (Node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested too deeply", ErrInvalid)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("%w: empty expression", ErrInvalid)
	}
	var or Or
	var and And
	for i, g := range groups {
		item, err := fromItem(g.Item, depth)
		if err != nil {
			return nil, err
		}
		if i > 0 && g.Join == fexpr.JoinOr {
			or = append(or, collapse(and))
			and = nil
		}
		and = append(and, item)
	}
	or = append(or, collapse(and))
	if len(or) == 1 {
		return or[0], nil
	}
	return or, nil
}

func collapse(and And) Node {
	if len(and) == 1 {
		return and[0]
	}
	return and
}

func fromItem(item any, depth int) (Node, error) {
	switch v := item.(type) {
	case fexpr.Expr:
		return fromExpr(v)
	case []fexpr.ExprGroup:
		return fromGroups(v, depth+1)
	}
	return nil, fmt.Errorf("%w: unexpected expression", ErrInvalid)
}

func fromExpr(e fexpr.Expr) (Node, error) {
	op := string(e.Op)
	anyOf := strings.HasPrefix(op, "?")
	op = strings.TrimPrefix(op, "?")
	switch Op(op) {
	case OpEq, OpNeq, OpLike, OpNlike, OpLt, OpLte, OpGt, OpGte:
	default:
		return nil, fmt.Errorf("%w: unknown operator %q", ErrInvalid, e.Op)
	}
	left, err := operand(e.Left, 0)
	if err != nil {
		return nil, err
	}
	right, err := operand(e.Right, 0)
	if err != nil {
		return nil, err
	}
	return Cmp{Left: left, Op: Op(op), Any: anyOf, Right: right}, nil
}

func operand(t fexpr.Token, depth int) (Operand, error) {
	if depth > maxDepth {
		return Operand{}, fmt.Errorf("%w: nested too deeply", ErrInvalid)
	}
	switch t.Type {
	case fexpr.TokenIdentifier:
		return Operand{Kind: Identifier, Value: t.Literal}, nil
	case fexpr.TokenText:
		return Operand{Kind: Text, Value: t.Literal}, nil
	case fexpr.TokenNumber:
		return Operand{Kind: Number, Value: t.Literal}, nil
	case fexpr.TokenFunction:
		op := Operand{Kind: Function, Value: t.Literal}
		args, _ := t.Meta.([]fexpr.Token)
		for _, a := range args {
			arg, err := operand(a, depth+1)
			if err != nil {
				return Operand{}, err
			}
			op.Args = append(op.Args, arg)
		}
		return op, nil
	}
	return Operand{}, fmt.Errorf("%w: unexpected %s token", ErrInvalid, t.Type)
}

// nestingDepth is the deepest parenthesis nesting of expr outside quoted
// text.
func nestingDepth(expr string) int {
	depth, deepest := 0, 0
	var quote byte
	for i := 0; i < len(expr); i++ {
		ch := expr[i]
		switch {
		case quote != 0:
			if ch == '\\' {
				i++
			} else if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '(':
			depth++
			deepest = max(deepest, depth)
		case ch == ')':
			depth--
		}
	}
	return deepest
}
