package core

import "context"

// FieldFile is the type of fields holding uploaded files' names.
const FieldFile = "file"

type fileKind struct{ FieldKindBase }

func (fileKind) Type() string { return FieldFile }

func (fileKind) Traits() FieldTraits { return FieldTraits{Files: true} }

func (fileKind) MarshalOptions(f *Field, m map[string]any) {
	putOptions(m, f.Options, "maxSelect", "maxSize", "mimeTypes", "thumbs", "protected")
}

func (fileKind) PrepareOptions(_ *App, f *Field) { defaultMaxSelect(f) }

func (fileKind) ValidateOptions(_ *App, _ *Collection, f *Field, key string, fail func(key, code, msg string)) {
	for _, t := range f.Options.Thumbs {
		if !thumbPattern.MatchString(t) {
			fail(key+".thumbs", "validation_invalid_thumb", "Thumb sizes look like 100x100, 0x100, 100x0 or 100x100t/b/f.")
		}
	}
}

func (fileKind) Multiple(f *Field) bool { return f.Options.MaxSelect > 1 }

func (fileKind) Normalize(_ *Field, v any) any { return lastValue(v) }

func (fileKind) Modifiers() []KeyModifier { return listModifiers() }

// Resolve keeps uploads as *filesystem.File next to stored names, with or
// without a modifier.
func (fileKind) Resolve(f *Field, cur any, mod KeyModifier, v any) any {
	return resolveFiles(f, cur, mod, v)
}

// Assign ignores the body value: applyFiles stores uploads and names.
func (fileKind) Assign(*Record, *Field, any, map[string]any) error { return nil }

func (fileKind) Validate(_ context.Context, _ *App, f *Field, v any) (FieldError, bool) {
	if n := len(valuesOf(v)); n > f.Options.MaxSelect {
		return fe("validation_too_many_values", "Select no more than %d.", f.Options.MaxSelect)
	}
	return FieldError{}, true
}

// HoldsFiles reports whether f's values are stored files.
func (f *Field) HoldsFiles() bool { return f.Kind().Traits().Files }
