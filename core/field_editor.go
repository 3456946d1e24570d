package core

import "context"

// FieldEditor is the type of rich text (HTML) fields.
const FieldEditor = "editor"

// Editor fields accept this many bytes, PocketBase's.
const defaultEditMax = 5 << 20

type editorKind struct{ FieldKindBase }

func (editorKind) Type() string { return FieldEditor }

func (editorKind) MarshalOptions(f *Field, m map[string]any) {
	putOptions(m, f.Options, "maxSize", "convertURLs")
}

func (editorKind) Validate(_ context.Context, _ *App, _ *Field, v any) (FieldError, bool) {
	if len(v.(string)) > defaultEditMax {
		return fe("validation_max_text_constraint", "Must be less than %d bytes.", defaultEditMax)
	}
	return FieldError{}, true
}
