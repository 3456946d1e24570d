package core_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoPackageLevelIdentity fails if a non-test source file of core, apis
// or plugins declares a package-level variable of type Actor, RequestInfo
// or *RequestInfo (or one initialised with such a literal).
func TestNoPackageLevelIdentity(t *testing.T) {
	t.Parallel()
	var found []string
	for _, root := range []string{".", "../apis", "../plugins"} {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			bad, err := identityGlobals(path, src)
			found = append(found, bad...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(found) > 0 {
		t.Errorf("package-level identity variables (carry identity in ctx instead):\n%s", strings.Join(found, "\n"))
	}
}

// TestIdentityGlobalsCatches checks the scan itself on the shapes it must
// refuse and on ones it must let through.
func TestIdentityGlobalsCatches(t *testing.T) {
	t.Parallel()
	src := `package p
import "github.com/hatchgrid/hatchgrid/core"
var system = &RequestInfo{IsSuperuser: true}
var SystemActor = Actor{System: true}
var a, b core.Actor
var (
	info core.RequestInfo
	ptr  *core.RequestInfo = nil
)
var list = []int{1}
const name = "Actor"
func f() { var local = &RequestInfo{} ; _ = local }
`
	bad, err := identityGlobals("p.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"system", "SystemActor", "a", "b", "info", "ptr"}
	if len(bad) != len(want) {
		t.Fatalf("found %q, want the variables %q", bad, want)
	}
	for i, name := range want {
		if !strings.HasSuffix(bad[i], " "+name) {
			t.Errorf("finding %d = %q, want variable %s", i, bad[i], name)
		}
	}
}

// identityGlobals returns "file:line name" for each package-level variable
// of src whose declared type, or initial value's literal type, is Actor or
// RequestInfo. Such a variable is shared by every request and goroutine
// (the old `var system = &RequestInfo{IsSuperuser: true}` was handed to
// hooks, which could change it for everyone): identity lives in ctx only,
// and system work gets a fresh value from core.AsSystem or
// core.SystemActor.
func identityGlobals(path string, src []byte) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				typ := vs.Type
				if typ == nil && i < len(vs.Values) {
					typ = literalType(vs.Values[i])
				}
				if isIdentityType(typ) {
					out = append(out, fset.Position(name.Pos()).String()+" "+name.Name)
				}
			}
		}
	}
	return out, nil
}

// literalType is the type of a composite literal value, or of the one its
// address is taken of; nil for anything else.
func literalType(v ast.Expr) ast.Expr {
	if u, ok := v.(*ast.UnaryExpr); ok && u.Op == token.AND {
		v = u.X
	}
	if cl, ok := v.(*ast.CompositeLit); ok {
		return cl.Type
	}
	return nil
}

// isIdentityType reports whether typ names Actor or RequestInfo, bare or
// package-qualified, through any pointer.
func isIdentityType(typ ast.Expr) bool {
	for {
		star, ok := typ.(*ast.StarExpr)
		if !ok {
			break
		}
		typ = star.X
	}
	name := ""
	switch t := typ.(type) {
	case *ast.Ident:
		name = t.Name
	case *ast.SelectorExpr:
		name = t.Sel.Name
	}
	return name == "Actor" || name == "RequestInfo"
}
