package core

import (
	"github.com/hatchgrid/hatchgrid/core/filter"
)

// authHasField reports whether the auth record has a field called name of
// its own, which then hides the computed field of that name.
func (r *recordResolver) authHasField(name string) bool {
	if r.req.Auth == nil {
		return false
	}
	if _, ok := r.req.Auth[name]; ok {
		return true
	}
	colName, _ := r.req.Auth["collectionName"].(string)
	c, err := r.app.collections.Find(colName)
	return err == nil && c.Field(name) != nil
}

// authRoles resolves @request.auth.roles, the computed list of the
// caller's Casbin role names (inherited ones included; none for guests
// without a role). It is multi-valued like a multiple select:
// @request.auth.roles ?= 'editor' asks for any role, = for all of them;
// :each is the same and :length counts them.
func (r *recordResolver) authRoles(modifier string) (filter.Value, error) {
	roles, err := r.app.requestRoles(r.req)
	if err != nil {
		return filter.Value{}, err
	}
	switch modifier {
	case "", "each":
		return r.goValue(roles, "each")
	case "length":
		return filter.Param(float64(len(roles))), nil
	}
	return filter.Value{}, invalidf("unsupported modifier :%s", modifier)
}

// ResolveFunction implements filter.FunctionResolver: @can('<collection or
// resource>', '<action>') is true when Casbin lets the caller perform the
// action, e.g. @can('posts', 'update') = true or
// @can('admin:schema', 'write') = true.
func (r *recordResolver) ResolveFunction(name string, args []filter.Operand) (filter.Value, error) {
	if name != "@can" {
		return filter.Value{}, invalidf("unsupported function %s()", name)
	}
	if len(args) != 2 || args[0].Kind != filter.Text || args[1].Kind != filter.Text {
		return filter.Value{}, invalidf("@can takes two texts, a collection or resource and an action: @can('posts', 'update')")
	}
	ok, err := r.app.requestCan(r.req, args[0].Value, args[1].Value)
	if err != nil {
		return filter.Value{}, err
	}
	return filter.Param(ok), nil
}

var _ filter.FunctionResolver = (*recordResolver)(nil)
