package core

import "fmt"

// FieldPassword is the type of password fields, which store a bcrypt
// hash.
const FieldPassword = "password"

// bcrypt reads this many bytes of a password at most.
const maxPasswordLen = 71

// passwordKind hashes at bcrypt cost cost (WithPasswordCost; the default
// when zero).
type passwordKind struct {
	FieldKindBase
	cost int
}

func (passwordKind) Type() string { return FieldPassword }

func (passwordKind) Traits() FieldTraits { return FieldTraits{Secret: true} }

func (passwordKind) MarshalOptions(f *Field, m map[string]any) {
	putOptions(m, f.Options, "min", "max", "pattern", "cost")
}

func (passwordKind) ValidateOptions(_ *App, _ *Collection, f *Field, key string, fail func(key, code, msg string)) {
	nonNegativeMinMax(f, key, fail)
}

// Resolve keeps the plain password: Assign hashes it.
func (passwordKind) Resolve(f *Field, cur any, mod KeyModifier, v any) any {
	if mod == "" {
		return toString(v)
	}
	return FieldKindBase{}.Resolve(f, cur, mod, v)
}

// Assign hashes the password; an auth collection's also needs a matching
// passwordConfirm.
func (k passwordKind) Assign(rec *Record, f *Field, v any, body map[string]any) error {
	if rec.collection.IsAuth() && toString(body["passwordConfirm"]) != toString(v) {
		rec.inputError("passwordConfirm", FieldError{Code: "validation_values_mismatch", Message: "Values don't match."})
	}
	return setPassword(rec, f, v, k.cost)
}

// setPassword hashes a submitted password into a password field; for auth
// collections it also rotates the token key.
func setPassword(rec *Record, f *Field, v any, cost int) error {
	plain := toString(v)
	if plain == "" {
		return nil
	}
	min := 0
	if f.Options.Min != nil {
		min = int(*f.Options.Min)
	}
	if len([]rune(plain)) < min {
		rec.inputError(f.Name, FieldError{Code: "validation_min_text_constraint", Message: fmt.Sprintf("Must be at least %d character(s).", min)})
		return nil
	}
	if len(plain) > maxPasswordLen {
		rec.inputError(f.Name, FieldError{Code: "validation_max_text_constraint", Message: "Must be less than 72 bytes."})
		return nil
	}
	hash, tokenKey, err := hashPassword(plain, cost)
	if err != nil {
		return err
	}
	rec.data[f.Name] = hash
	if rec.collection.IsAuth() {
		// A new password revokes every token issued before it.
		rec.data["tokenKey"] = tokenKey
	}
	return nil
}

// IsSecret reports whether f holds a credential that never leaves the
// server and that no filter or rule may read.
func (f *Field) IsSecret() bool { return f.Kind().Traits().Secret }
