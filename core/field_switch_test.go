package core_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fieldSwitchAllowed lists the places outside core/field_*.go that may
// still name a field type in a comparison, a case or a table key, each
// with its reason. Keys are "file: code".
var fieldSwitchAllowed = map[string]string{}

// TestNoFieldTypeSwitches keeps field types a registry: what a type does
// lives in its core/field_<type>.go (its FieldKind), and code elsewhere
// asks the kind or its traits instead of comparing Field.Type with a
// type constant, switching on it, or keeping a table keyed by it.
func TestNoFieldTypeSwitches(t *testing.T) {
	t.Parallel()
	found := fieldTypeSwitches(t, "..")
	var bad []string
	for _, place := range found {
		key := place[strings.Index(place, " ")+1:]
		if _, ok := fieldSwitchAllowed[key]; !ok {
			bad = append(bad, place)
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d places outside core/field_*.go branch on field types; ask the field's kind instead:\n%s",
			len(bad), strings.Join(bad, "\n"))
	}
}

// fieldTypeSwitches returns, as "path:line file: code", every place in
// the non-test Go files of core (its own package), apis and plugins under
// root, core/field_*.go excepted, that compares a value with a field type
// constant (or its string), lists one in a case, or keys a table by one.
func fieldTypeSwitches(t *testing.T, root string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	for _, dir := range []string{"core", "apis", "plugins"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && dir == "core" && path != filepath.Join(root, "core") {
				return fs.SkipDir // core's leaf packages know nothing of fields
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			files[path] = f
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	consts := fieldTypeConsts(files, filepath.Join(root, "core"))
	if len(consts) == 0 {
		t.Fatal("no field type constants found in core")
	}
	var out []string
	for path, f := range files {
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "core/field_") {
			continue
		}
		for _, n := range fieldTypeUses(f, consts) {
			pos := fset.Position(n.Pos())
			out = append(out, fmt.Sprintf("%s:%d %s: %s", rel, pos.Line, rel, nodeText(fset, path, n)))
		}
	}
	sort.Strings(out)
	return out
}

// fieldTypeConsts returns core's constants named Field<Something> whose
// value is a string: the field types, name to value.
func fieldTypeConsts(files map[string]*ast.File, coreDir string) map[string]string {
	out := map[string]string{}
	for path, f := range files {
		if filepath.Dir(path) != coreDir {
			continue
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Field") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						out[name.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	return out
}

// fieldTypeUses returns the comparisons, case clauses and table entries
// of f that name a field type.
func fieldTypeUses(f *ast.File, consts map[string]string) []ast.Node {
	isConst := func(e ast.Expr) bool {
		switch x := e.(type) {
		case *ast.Ident:
			_, ok := consts[x.Name]
			return ok
		case *ast.SelectorExpr:
			pkg, ok := x.X.(*ast.Ident)
			_, known := consts[x.Sel.Name]
			return ok && pkg.Name == "core" && known
		}
		return false
	}
	isTypeLit := func(e ast.Expr) bool {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return false
		}
		s, _ := strconv.Unquote(lit.Value)
		for _, v := range consts {
			if v == s {
				return true
			}
		}
		return false
	}
	isTypeSel := func(e ast.Expr) bool {
		sel, ok := e.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "Type"
	}
	var out []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.BinaryExpr:
			if x.Op != token.EQL && x.Op != token.NEQ {
				break
			}
			if isConst(x.X) || isConst(x.Y) ||
				(isTypeSel(x.X) && isTypeLit(x.Y)) || (isTypeSel(x.Y) && isTypeLit(x.X)) {
				out = append(out, x)
			}
		case *ast.SwitchStmt:
			for _, s := range x.Body.List {
				cc := s.(*ast.CaseClause)
				for _, e := range cc.List {
					if isConst(e) || (x.Tag != nil && isTypeSel(x.Tag) && isTypeLit(e)) {
						out = append(out, cc)
						break
					}
				}
			}
		case *ast.KeyValueExpr:
			if isConst(x.Key) {
				out = append(out, x)
			}
		}
		return true
	})
	return out
}

// nodeText is the first line of n's source, for messages.
func nodeText(fset *token.FileSet, path string, n ast.Node) string {
	src, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	start, end := fset.Position(n.Pos()).Offset, fset.Position(n.End()).Offset
	text := string(src[start:end])
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	return strings.TrimSpace(text)
}

// TestFieldTypeUsesFinds checks the analyser itself on each form it must
// catch, and on forms it must leave alone.
func TestFieldTypeUsesFinds(t *testing.T) {
	t.Parallel()
	src := `package p
func f() {
	_ = f.Type == FieldText
	_ = core.FieldJSON != x.Type
	_ = x.Type == "relation"
	switch f.Type {
	case FieldBool, FieldNumber:
	case "file":
	}
	_ = map[string]int{FieldDate: 1}
	_ = f.Name == "text" // not a type
	_ = f.Type == g.Type // two fields, no type named
	_ = Field{Type: FieldText}
}`
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{"FieldText": "text", "FieldJSON": "json", "FieldBool": "bool", "FieldNumber": "number",
		"FieldDate": "date", "FieldRelation": "relation", "FieldFile": "file"}
	var lines []int
	for _, n := range fieldTypeUses(file, consts) {
		lines = append(lines, fset.Position(n.Pos()).Line)
	}
	sort.Ints(lines)
	if fmt.Sprint(lines) != "[3 4 5 7 8 10]" {
		t.Fatalf("found on lines %v, want [3 4 5 7 8 10]", lines)
	}
}
