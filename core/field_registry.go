package core

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// builtinFieldKinds returns PocketBase's field types, in the order view
// columns are matched against them, passwords hashed at bcrypt cost
// passwordCost (bcrypt's default when below its least). It builds a new
// table on every call: the set of types is data owned by each App, never
// shared state.
func builtinFieldKinds(passwordCost int) []FieldKind {
	return []FieldKind{
		boolKind{}, jsonKind{}, numberKind{},
		textKind{}, emailKind{}, urlKind{}, editorKind{}, dateKind{}, autodateKind{},
		selectKind{}, fileKind{}, relationKind{}, passwordKind{cost: passwordCost}, geoPointKind{},
	}
}

// builtinFieldKind returns the built-in kind of typ, or nil.
func builtinFieldKind(typ string) FieldKind {
	for _, k := range builtinFieldKinds(0) {
		if k.Type() == typ {
			return k
		}
	}
	return nil
}

// fieldKinds is an App's set of field types: the built-in ones, then those
// registered, in order.
type fieldKinds struct {
	order  []FieldKind
	byType map[string]FieldKind
}

func newFieldKinds(passwordCost int) fieldKinds {
	fk := fieldKinds{byType: map[string]FieldKind{}}
	for _, k := range builtinFieldKinds(passwordCost) {
		_ = fk.add(k)
	}
	return fk
}

func (fk *fieldKinds) add(k FieldKind) error {
	if k == nil || k.Type() == "" {
		return errors.New("field kind without a type")
	}
	if _, ok := fk.byType[k.Type()]; ok {
		return fmt.Errorf("field type %q is already registered", k.Type())
	}
	fk.order = append(fk.order, k)
	fk.byType[k.Type()] = k
	return nil
}

// WithFieldKinds registers field types beyond PocketBase's; see
// App.RegisterFieldKind. A kind whose type is taken is ignored and logged
// when the App starts.
func WithFieldKinds(kinds ...FieldKind) Option {
	return func(a *App) { a.pendingKinds = append(a.pendingKinds, kinds...) }
}

// RegisterFieldKind adds a field type to the App. Call it before
// Bootstrap (a plugin's Register is the place): the set of types does not
// change while the App serves. Built-in types cannot be replaced.
func (a *App) RegisterFieldKind(k FieldKind) error {
	if a.bootstrapped {
		return errors.New("field kinds must be registered before Bootstrap")
	}
	return a.fieldKinds.add(k)
}

// FieldKind returns the App's kind of field type typ.
func (a *App) FieldKind(typ string) (FieldKind, bool) {
	k, ok := a.fieldKinds.byType[typ]
	return k, ok
}

// FieldKinds returns every field type the App knows, sorted.
func (a *App) FieldKinds() []string {
	out := make([]string, 0, len(a.fieldKinds.order))
	for _, k := range a.fieldKinds.order {
		out = append(out, k.Type())
	}
	slices.Sort(out)
	return out
}

// bindFields attaches the App's kinds to fields, so that types registered
// on it work wherever a field goes; a type the App does not know stays
// unbound, and collection validation refuses it. Options a registered
// (non built-in) kind reads itself are decoded now, from the JSON kept.
func (a *App) bindFields(fields []*Field) {
	for _, f := range fields {
		if f == nil {
			continue
		}
		k, ok := a.fieldKinds.byType[f.Type]
		if !ok {
			f.kind = nil
			continue
		}
		f.kind = k
		if raw := f.raw; raw != nil {
			f.raw = nil
			// Bad options stay zero; ValidateOptions reports them.
			_ = k.UnmarshalOptions(raw, &f.Options)
		}
	}
}

// viewFieldKind is the kind a view column of database type dbType gets:
// the first, in registration order, that claims it, text otherwise.
func (a *App) viewFieldKind(dbType string) FieldKind {
	for _, k := range a.fieldKinds.order {
		if k.ViewColumn(dbType) {
			return k
		}
	}
	return a.fieldKinds.byType[FieldText]
}

// Kind returns the field's kind: the one its App bound, else the built-in
// kind of its type, else a text-like kind for a type nobody knows.
func (f *Field) Kind() FieldKind {
	if f.kind != nil && f.kind.Type() == f.Type {
		return f.kind
	}
	if k := builtinFieldKind(f.Type); k != nil {
		return k
	}
	return unknownKind{typ: f.Type}
}

// unknownKind stands for a type no App registered: a field of it is
// refused when its collection is saved, but its JSON still reads back.
type unknownKind struct {
	FieldKindBase
	typ string
}

func (k unknownKind) Type() string { return k.typ }

// FieldTypes returns PocketBase's field types, sorted; App.FieldKinds
// adds those registered on an App.
func FieldTypes() []string {
	var out []string
	for _, k := range builtinFieldKinds(0) {
		out = append(out, k.Type())
	}
	slices.Sort(out)
	return out
}

// FieldKeyModifiers returns the key modifiers a field of built-in type
// fieldType takes: none for most types.
func FieldKeyModifiers(fieldType string) []KeyModifier {
	if k := builtinFieldKind(fieldType); k != nil {
		return slices.Clone(k.Modifiers())
	}
	return nil
}

// putOptions sets keys of o, by PocketBase's names, in m; list options
// that are empty are written as PocketBase writes them.
func putOptions(m map[string]any, o FieldOptions, keys ...string) {
	for _, key := range keys {
		m[key] = optionValue(o, key)
	}
}

func optionValue(o FieldOptions, key string) any {
	switch key {
	case "min":
		return numberOrZero(o.Min)
	case "max":
		return numberOrZero(o.Max)
	case "pattern":
		return o.Pattern
	case "autogeneratePattern":
		return o.AutogeneratePattern
	case "primaryKey":
		return o.PrimaryKey
	case "onlyInt":
		return o.OnlyInt
	case "exceptDomains":
		return nilIfEmpty(o.ExceptDomains)
	case "onlyDomains":
		return nilIfEmpty(o.OnlyDomains)
	case "convertURLs":
		return o.ConvertURLs
	case "onCreate":
		return o.OnCreate
	case "onUpdate":
		return o.OnUpdate
	case "values":
		return emptyIfNil(o.Values)
	case "maxSelect":
		return o.MaxSelect
	case "minSelect":
		return o.MinSelect
	case "maxSize":
		return o.MaxSize
	case "mimeTypes":
		return emptyIfNil(o.MimeTypes)
	case "thumbs":
		return emptyIfNil(o.Thumbs)
	case "protected":
		return o.Protected
	case "collectionId":
		return o.CollectionID
	case "cascadeDelete":
		return o.CascadeDelete
	case "cost":
		return o.Cost
	}
	return nil
}

// keepRaw copies b, the JSON of a field whose type no built-in kind
// knows, for the kind an App binds to it later.
func keepRaw(b []byte) json.RawMessage { return append(json.RawMessage(nil), b...) }
