package core

import (
	"strings"

	"github.com/hatchgrid/hatchgrid/core/security"
)

// apply copies the values of a resolved body (see resolveBody) onto rec.
// Keys that name no field, and fields set by the system, are ignored.
func (s *RecordService) apply(rec *Record, body map[string]any, isNew bool) error {
	for _, key := range bodyKeys(body) {
		v := body[key]
		f := rec.collection.Field(key)
		if f == nil || (rec.collection.IsAuth() && f.Name == "tokenKey") {
			continue
		}
		if f.Name == "id" {
			if !isNew {
				continue
			}
			id := toString(v)
			if id != "" && (len(id) != 15 || strings.Trim(id, security.IDAlphabet) != "") {
				rec.inputError("id", FieldError{Code: "validation_invalid_format", Message: "Invalid value format."})
				continue
			}
		}
		// The kind stores the value: autodate and file fields ignore it
		// (touch and applyFiles set them), a password is hashed.
		if err := f.Kind().Assign(rec, f, v, body); err != nil {
			return err
		}
	}
	return nil
}

// inputError records a problem found while applying submitted values;
// validation reports it with the rest, so a client sees every field error
// at once.
func (r *Record) inputError(field string, fe FieldError) {
	if r.inputErrs == nil {
		r.inputErrs = map[string]FieldError{}
	}
	if _, ok := r.inputErrs[field]; !ok {
		r.inputErrs[field] = fe
	}
}

// errVerifiedNotYours refuses a verified state sent by a caller who may
// not manage the record.
func errVerifiedNotYours() FieldError {
	return FieldError{Code: "validation_values_mismatch", Message: "Only superusers and managers can change the verified state."}
}

// checkAuthFields applies PocketBase's limits on what callers who may not
// manage the record (superusers and manageRule matches may) send for auth
// records: verified is never theirs to set, email changes only through
// the email-change flow, and a new password needs the current one as
// oldPassword. Problems become field errors.
func (s *RecordService) checkAuthFields(rec *Record, body map[string]any, req *RequestInfo, isNew, manager bool) {
	if !rec.collection.IsAuth() || isSuperuser(req) || manager {
		return
	}
	if _, ok := body["verified"]; ok {
		rec.inputError("verified", errVerifiedNotYours())
	}
	if isNew {
		return
	}
	if v, ok := body["email"]; ok && !strings.EqualFold(toString(v), rec.GetString("email")) {
		rec.inputError("email", FieldError{Code: "validation_values_mismatch", Message: "The email can be changed only through the email change request."})
	}
	if v, ok := body["password"]; ok && toString(v) != "" && !ValidatePassword(rec, toString(body["oldPassword"])) {
		rec.inputError("oldPassword", FieldError{Code: "validation_invalid_old_password", Message: "Missing or invalid old password."})
	}
}
