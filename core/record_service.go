package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/filter"
	"github.com/hatchgrid/hatchgrid/core/security"
)

// RecordService reads and writes the records of collections, enforcing
// their API rules for the request that asks.
type RecordService struct {
	app *App
}

// Records returns the record service.
func (a *App) Records() *RecordService { return &RecordService{app: a} }

// RecordQuery is a list request.
type RecordQuery struct {
	Filter string
	Sort   string
	ListParams
}

func errOnlySuperusers() error {
	return Errorf(CodeForbidden, "Only superusers can perform this action.")
}

func errNotFound() error {
	return &Error{Code: CodeNotFound, Message: "The requested resource wasn't found."}
}

// ruleCondition passes req through both access gates for action on c:
// Casbin must allow the action (a 403 otherwise), then the rule is
// compiled; a null rule lets only superusers in, and an empty condition
// means no restriction.
func (s *RecordService) ruleCondition(c *Collection, action string, req *RequestInfo) (string, []any, error) {
	if isSuperuser(req) {
		return "", nil, nil
	}
	if err := s.gate(c, action, req); err != nil {
		return "", nil, err
	}
	rule := c.Rule(action)
	if strings.TrimSpace(*rule) == "" {
		return "", nil, nil
	}
	sql, args, err := filter.CompileString(*rule, newRuleResolver(s.app, c, req), s.app.dialect)
	if err != nil {
		// A rule that no longer compiles (a field was removed) denies.
		s.app.logger.Warn("invalid API rule", "collection", c.Name, "action", action, "error", err)
		return "1 = 0", nil, nil
	}
	return sql, args, nil
}

// gate answers whether req may perform action on c at all: superusers
// may; others need Casbin's consent (a 403 otherwise) and a rule that is
// not null (superusers only, a 403).
func (s *RecordService) gate(c *Collection, action string, req *RequestInfo) error {
	if isSuperuser(req) {
		return nil
	}
	if err := s.app.authorizeRecords(c, action, req); err != nil {
		return err
	}
	if c.Rule(action) == nil {
		return errOnlySuperusers()
	}
	return nil
}

// selectList is the column list of c's records; JSON columns are read as
// text so that both drivers return the document unparsed.
func (s *RecordService) selectList(c *Collection) string {
	cols := make([]string, len(c.Fields))
	for i, f := range c.Fields {
		col := quote(c.Name) + "." + quote(f.Name)
		if f.Kind().Traits().Document {
			col = s.app.dialect.CastText(col) + " AS " + quote(f.Name)
		}
		cols[i] = col
	}
	return strings.Join(cols, ", ")
}

// query runs a SELECT of records and loads them.
func (s *RecordService) query(ctx context.Context, c *Collection, where string, args []any, tail string, tailArgs ...any) ([]*Record, error) {
	q := "SELECT " + s.selectList(c) + " FROM " + quote(c.Name)
	if where != "" {
		q += " WHERE " + where
	}
	q += tail
	rows, err := s.app.ReadDB(ctx).Raw(q, append(args, tailArgs...)...).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return s.scan(c, rows)
}

func (s *RecordService) scan(c *Collection, rows *sql.Rows) ([]*Record, error) {
	out := []*Record{}
	vals := make([]any, len(c.Fields))
	ptrs := make([]any, len(c.Fields))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := &Record{collection: c, data: make(map[string]any, len(c.Fields))}
		for i, f := range c.Fields {
			r.data[f.Name] = normalize(f, vals[i])
		}
		r.original = maps.Clone(r.data) // copies the table whole, unlike a loop of inserts
		out = append(out, r)
	}
	return out, rows.Err()
}

func and(conds ...string) string {
	var parts []string
	for _, c := range conds {
		if c != "" {
			parts = append(parts, "("+c+")")
		}
	}
	return strings.Join(parts, " AND ")
}

// List returns one page of c's records that match q.Filter and the list
// rule: a rule mismatch is an empty page, not an error.
func (s *RecordService) List(ctx context.Context, c *Collection, q RecordQuery) (*ListResult[*Record], error) {
	lq, err := s.listQuery(c, q, RequestFrom(ctx))
	if err != nil {
		return nil, err
	}
	p := NormalizePaging(q.ListParams)
	result := &ListResult[*Record]{Page: p.Page, PerPage: p.PerPage, TotalItems: -1, TotalPages: -1}
	if !p.SkipTotal {
		var total int64
		if err := s.app.ReadDB(ctx).Raw(lq.count, lq.args...).Scan(&total).Error; err != nil {
			return nil, err
		}
		result.TotalItems = int(total)
		result.TotalPages = int((total + int64(p.PerPage) - 1) / int64(p.PerPage))
	}
	result.Items, err = s.query(ctx, c, lq.where, lq.args, lq.orderBy+" LIMIT ? OFFSET ?", p.PerPage, (p.Page-1)*p.PerPage)
	return result, err
}

type listQuery struct {
	where, orderBy, count string
	args                  []any
}

// listQuery compiles the list rule, filter and sort of a list request.
func (s *RecordService) listQuery(c *Collection, q RecordQuery, req *RequestInfo) (*listQuery, error) {
	ruleSQL, ruleArgs, err := s.ruleCondition(c, "list", req)
	if err != nil {
		return nil, err
	}
	filterSQL, filterArgs, err := s.clientFilter(c, q.Filter, req)
	if err != nil {
		return nil, err
	}
	orderBy, err := s.orderBy(c, q.Sort, req)
	if err != nil {
		return nil, err
	}
	lq := &listQuery{where: and(ruleSQL, filterSQL), orderBy: orderBy}
	lq.args = append(append([]any{}, ruleArgs...), filterArgs...)
	lq.count = "SELECT COUNT(*) FROM " + quote(c.Name)
	if lq.where != "" {
		lq.count += " WHERE " + lq.where
	}
	return lq, nil
}

// clientFilter compiles a filter that req sends to c (see clientMode): a
// blank one is no condition; a bad one is a 400, one that names what only
// superusers may filter by a 403.
func (s *RecordService) clientFilter(c *Collection, expr string, req *RequestInfo) (string, []any, error) {
	if strings.TrimSpace(expr) == "" {
		return "", nil, nil
	}
	sql, args, err := filter.CompileString(expr, newClientResolver(s.app, c, req), s.app.dialect)
	return sql, args, clientFilterError(err, "Something went wrong while processing your request. Invalid filter.")
}

// clientFilterError is the error a client filter or sort answers with:
// the resolver's own Error (a 403), a 400 with message for an invalid one,
// err itself otherwise (a failure of the server).
func clientFilterError(err error, message string) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, filter.ErrInvalid):
		return Wrap(err, CodeInvalid, message)
	}
	return err
}

// ExplainList returns the database's plan for the page query of a list
// request, to check that it uses the indexes it should.
func (s *RecordService) ExplainList(ctx context.Context, c *Collection, q RecordQuery) (string, error) {
	lq, err := s.listQuery(c, q, RequestFrom(ctx))
	if err != nil {
		return "", err
	}
	sql := "SELECT " + s.selectList(c) + " FROM " + quote(c.Name)
	if lq.where != "" {
		sql += " WHERE " + lq.where
	}
	sql += lq.orderBy + " LIMIT 30"
	rows, err := s.app.ReadDB(ctx).Raw(s.app.dialect.Explain(sql), lq.args...).Rows()
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan strings.Builder
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for _, v := range vals {
			plan.WriteString(toString(v) + " ")
		}
		plan.WriteString("\n")
	}
	return plan.String(), rows.Err()
}

// orderBy builds ORDER BY from a PocketBase sort string: fields, "-" for
// descending, @random and @rowid. Without one, a table lists in insertion
// order and a view, which has no row id, in the order of its own query,
// as in PocketBase.
func (s *RecordService) orderBy(c *Collection, sort string, req *RequestInfo) (string, error) {
	if strings.TrimSpace(sort) == "" {
		if c.IsView() {
			return "", nil
		}
		return " ORDER BY " + s.app.dialect.RowID(quote(c.Name)), nil
	}
	var parts []string
	guarded := false
	resolver := newClientResolver(s.app, c, req)
	for _, key := range strings.Split(sort, ",") {
		key = strings.TrimSpace(key)
		dir := " ASC"
		switch {
		case strings.HasPrefix(key, "-"):
			dir, key = " DESC", key[1:]
		case strings.HasPrefix(key, "+"):
			key = key[1:]
		}
		switch key {
		case "@random":
			parts = append(parts, "RANDOM()")
			continue
		case "@rowid":
			if !c.IsView() {
				parts = append(parts, s.app.dialect.RowID(quote(c.Name))+dir)
				continue
			}
		}
		invalid := fmt.Sprintf("Something went wrong while processing your request. Invalid sort field %q.", key)
		v, err := resolver.Resolve(key)
		if err != nil {
			return "", clientFilterError(err, invalid)
		}
		if v.Multi != nil || len(v.Args) > 0 || len(v.GuardArgs) > 0 || strings.HasPrefix(key, "@") {
			return "", Errorf(CodeInvalid, "%s", invalid)
		}
		guarded = guarded || v.Guard != ""
		parts = append(parts, sortExpr(v)+dir)
	}
	if guarded && !c.IsView() {
		// Rows whose key the caller may not read tie; insertion order
		// breaks the tie, so that nothing else they hold shows through.
		parts = append(parts, s.app.dialect.RowID(quote(c.Name)))
	}
	return " ORDER BY " + strings.Join(parts, ", "), nil
}

// Find returns a record by id without any rule: for the system and for
// code that checks access itself.
func (s *RecordService) Find(ctx context.Context, c *Collection, id string) (*Record, error) {
	id = cleanText(id)
	recs, err := s.query(ctx, c, quote(c.Name)+`."id" = ?`, []any{id}, "")
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errNotFound()
	}
	return recs[0], nil
}

// View returns a record that the view rule lets the caller of ctx see;
// otherwise 404.
func (s *RecordService) View(ctx context.Context, c *Collection, id string) (*Record, error) {
	return s.findWithRule(ctx, c, id, "view", RequestFrom(ctx))
}

func (s *RecordService) findWithRule(ctx context.Context, c *Collection, id, action string, req *RequestInfo) (*Record, error) {
	id = cleanText(id)
	ruleSQL, ruleArgs, err := s.ruleCondition(c, action, req)
	if err != nil {
		return nil, err
	}
	where := and(quote(c.Name)+`."id" = ?`, ruleSQL)
	recs, err := s.query(ctx, c, where, append([]any{id}, ruleArgs...), "")
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errNotFound()
	}
	return recs[0], nil
}

// Create stores a new record from body (PocketBase's modifiers included),
// validated, inside a transaction in which the create rule must match the
// new record; a mismatch is a 400 and nothing is kept. The caller is the
// one ctx carries; the hooks see it with body as resolved.
func (s *RecordService) Create(ctx context.Context, c *Collection, body map[string]any) (*Record, error) {
	req := RequestFrom(ctx)
	if c.IsView() {
		return nil, Errorf(CodeInvalid, "Unsupported collection type.")
	}
	if err := s.app.authorizeRecords(c, "create", req); err != nil {
		return nil, err
	}
	if !isSuperuser(req) && c.CreateRule == nil {
		return nil, errOnlySuperusers()
	}
	rec := NewRecord(c)
	body, modErrs := resolveBody(rec, body, isSuperuser(req))
	req.Body = body
	ctx = WithRequest(ctx, req)
	for field, fe := range modErrs {
		rec.inputError(field, fe)
	}
	// Whether a caller may set verified depends on the manageRule, which
	// is checked once the record exists.
	deferManage := mayManage(c, body, req, "verified")
	s.checkAuthFields(rec, body, req, true, deferManage)
	if err := s.apply(rec, body, true); err != nil {
		return nil, err
	}
	files := s.applyFiles(rec, body)
	if rec.ID() == "" {
		rec.data["id"] = security.NewID()
	}
	if c.IsAuth() && rec.GetString("tokenKey") == "" {
		rec.data["tokenKey"] = security.RandomString(50, security.SecretAlphabet)
	}
	var created *Record
	err := s.app.InTx(ctx, func(ctx context.Context) error {
		s.touch(rec, true)
		errs := s.validateRecord(ctx, rec)
		files.validate(rec, errs)
		if len(errs) > 0 {
			return Invalid("Failed to create record.", errs)
		}
		e := &RecordEvent{App: s.app, Context: ctx, Record: rec, Request: req}
		return s.app.onRecordCreate.Trigger(e, func(e *RecordEvent) error {
			if err := files.upload(ctx, s.app, e.Record); err != nil {
				return err
			}
			if err := s.insertChecked(ctx, e.Record, req, deferManage); err != nil {
				return err
			}
			created = e.Record
			return nil
		})
	})
	if err != nil {
		files.discard(ctx, s.app)
		return nil, err
	}
	created.original = created.data
	s.app.AfterCommit(ctx, func(ctx context.Context) {
		s.app.onRecordCreateCommitted.Trigger(&RecordEvent{App: s.app, Context: ctx, Record: created, Request: req}, nil)
	})
	return created, nil
}

// insertChecked inserts a new record inside the create transaction and
// checks the create rule against it, then, when the caller set verified
// without being a superuser, the manageRule. As in PocketBase, both rules
// see the record unverified, so that neither can rest on the verified
// state the request asks for; a manager's verified is written after.
func (s *RecordService) insertChecked(ctx context.Context, rec *Record, req *RequestInfo, checkManage bool) error {
	verified := checkManage && toBool(rec.data["verified"])
	if verified {
		rec.data["verified"] = false
	}
	if err := s.insert(ctx, rec); err != nil {
		return err
	}
	if err := s.checkRule(ctx, rec.collection, rec.ID(), "create", req); err != nil {
		return err
	}
	if !checkManage {
		return nil
	}
	ok, err := s.canManage(ctx, rec.collection, rec.ID(), req)
	if err != nil {
		return err
	}
	if !ok {
		return Invalid("Failed to create record.", map[string]FieldError{"verified": errVerifiedNotYours()})
	}
	if !verified {
		return nil
	}
	rec.data["verified"] = true
	return s.update(ctx, rec)
}

// Matches reports whether the record id of c matches the filter expression
// for the caller of ctx.
func (s *RecordService) Matches(ctx context.Context, c *Collection, id, expr string) (bool, error) {
	return s.matches(ctx, c, id, expr, RequestFrom(ctx))
}

func (s *RecordService) matches(ctx context.Context, c *Collection, id, expr string, req *RequestInfo) (bool, error) {
	cond, args, err := filter.CompileString(expr, newRuleResolver(s.app, c, req), s.app.dialect)
	if err != nil {
		return false, Wrap(err, CodeInvalid, "Invalid filter.")
	}
	var n int64
	q := "SELECT COUNT(*) FROM " + quote(c.Name) + " WHERE " + and(quote(c.Name)+`."id" = ?`, cond)
	if err := s.app.ReadDB(ctx).Raw(q, append([]any{cleanText(id)}, args...)...).Scan(&n).Error; err != nil {
		return false, err
	}
	return n > 0, nil
}

// checkRule re-reads a written record through the action's rule inside the
// transaction; PocketBase answers a mismatch with a 400 without details.
func (s *RecordService) checkRule(ctx context.Context, c *Collection, id, action string, req *RequestInfo) error {
	ruleSQL, ruleArgs, err := s.ruleCondition(c, action, req)
	if err != nil || ruleSQL == "" {
		return err
	}
	var n int64
	q := "SELECT COUNT(*) FROM " + quote(c.Name) + " WHERE " + and(quote(c.Name)+`."id" = ?`, ruleSQL)
	if err := s.app.DB(ctx).Raw(q, append([]any{id}, ruleArgs...)...).Scan(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return Errorf(CodeInvalid, "Failed to %s record.", action)
	}
	return nil
}

// Update changes the record id of c, if the update rule lets the caller of
// ctx, with body applied and validated. The hooks see the caller with
// body as resolved.
func (s *RecordService) Update(ctx context.Context, c *Collection, id string, body map[string]any) (*Record, error) {
	req := RequestFrom(ctx)
	if c.IsView() {
		return nil, Errorf(CodeInvalid, "Unsupported collection type.")
	}
	var updated *Record
	var resolvedReq *RequestInfo
	var files *fileChanges
	err := s.app.InTx(ctx, func(ctx context.Context) error {
		rec, body, req, err := s.findForUpdate(ctx, c, id, body, req)
		if err != nil {
			return err
		}
		ctx = WithRequest(ctx, req)
		manager := false
		if mayManage(c, body, req, "email", "verified", "password") {
			// PocketBase matches the manageRule against the stored record.
			if manager, err = s.canManage(ctx, c, rec.ID(), req); err != nil {
				return err
			}
		}
		s.checkAuthFields(rec, body, req, false, manager)
		if err := s.apply(rec, body, false); err != nil {
			return err
		}
		files = s.applyFiles(rec, body)
		s.touch(rec, false)
		errs := s.validateRecord(ctx, rec)
		files.validate(rec, errs)
		if len(errs) > 0 {
			return Invalid("Failed to update record.", errs)
		}
		e := &RecordEvent{App: s.app, Context: ctx, Record: rec, Request: req}
		return s.app.onRecordUpdate.Trigger(e, func(e *RecordEvent) error {
			if err := files.upload(ctx, s.app, e.Record); err != nil {
				return err
			}
			updated, resolvedReq = e.Record, req
			return s.update(ctx, e.Record)
		})
	})
	if err != nil {
		files.discard(ctx, s.app)
		return nil, err
	}
	s.deleteReplacedFiles(ctx, updated)
	updated.original = updated.data
	s.app.AfterCommit(ctx, func(ctx context.Context) {
		s.app.onRecordUpdateCommitted.Trigger(&RecordEvent{App: s.app, Context: ctx, Record: updated, Request: resolvedReq}, nil)
	})
	return updated, nil
}

// findForUpdate reads the record id of c for an update of body by req:
// Casbin and a null rule first (403), then the stored record (404),
// against which body is resolved (see resolveBody), then the update rule
// with @request.body as resolved (404). It returns a copy of the record
// with the resolved body's modifier errors noted, the resolved body, and
// req with that body.
func (s *RecordService) findForUpdate(ctx context.Context, c *Collection, id string, body map[string]any, req *RequestInfo) (*Record, map[string]any, *RequestInfo, error) {
	if err := s.gate(c, "update", req); err != nil {
		return nil, nil, nil, err
	}
	// Locked (PostgreSQL; SQLite's write transaction holds the database)
	// so that modifiers resolve against the value the update replaces.
	found, err := s.query(ctx, c, quote(c.Name)+`."id" = ?`, []any{cleanText(id)}, s.app.dialect.ForUpdate())
	if err != nil {
		return nil, nil, nil, err
	}
	if len(found) == 0 {
		return nil, nil, nil, errNotFound()
	}
	stored := found[0]
	body, modErrs := resolveBody(stored, body, isSuperuser(req))
	req = req.withBody(body)
	rec, err := s.findWithRule(ctx, c, id, "update", req)
	if err != nil {
		return nil, nil, nil, err
	}
	rec = rec.clone()
	for field, fe := range modErrs {
		rec.inputError(field, fe)
	}
	return rec, body, req, nil
}

func isSuperuser(req *RequestInfo) bool { return req.IsSuperuser() }

// touch sets autodate fields.
func (s *RecordService) touch(rec *Record, isNew bool) {
	now := FormatTime(s.app.Now())
	for _, f := range rec.collection.Fields {
		if v, ok := f.Kind().Stamp(f, isNew, now); ok {
			rec.data[f.Name] = v
		}
	}
}

func (s *RecordService) insert(ctx context.Context, rec *Record) error {
	cols := make([]string, 0, len(rec.collection.Fields))
	marks := make([]string, 0, len(cols))
	args := make([]any, 0, len(cols))
	for _, f := range rec.collection.Fields {
		cols = append(cols, quote(f.Name))
		marks = append(marks, "?")
		args = append(args, columnValue(f, rec.data[f.Name]))
	}
	q := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", quote(rec.collection.Name), strings.Join(cols, ", "), strings.Join(marks, ", "))
	err := s.app.DB(ctx).Exec(q, args...).Error
	return s.uniqueError(rec, err)
}

func (s *RecordService) update(ctx context.Context, rec *Record) error {
	var sets []string
	var args []any
	for _, f := range rec.collection.Fields {
		if f.Name == "id" {
			continue
		}
		sets = append(sets, quote(f.Name)+" = ?")
		args = append(args, columnValue(f, rec.data[f.Name]))
	}
	if len(sets) == 0 {
		return nil
	}
	q := fmt.Sprintf(`UPDATE %s SET %s WHERE "id" = ?`, quote(rec.collection.Name), strings.Join(sets, ", "))
	err := s.app.DB(ctx).Exec(q, append(args, rec.ID())...).Error
	return s.uniqueError(rec, err)
}

// uniqueError turns a unique-index violation into PocketBase's field error
// on the columns of the violated index (or id).
func (s *RecordService) uniqueError(rec *Record, err error) error {
	if err == nil || !s.app.dialect.IsUniqueViolation(err) {
		return err
	}
	fields := map[string]FieldError{}
	notUnique := FieldError{Code: "validation_not_unique", Message: "Value must be unique."}
	msg := err.Error()
	for _, sqlIdx := range rec.collection.Indexes {
		idx, perr := ParseIndex(sqlIdx)
		if perr != nil || !idx.Unique || !strings.Contains(msg, idx.Name) && !columnsIn(msg, idx) {
			continue
		}
		for _, col := range idx.Columns {
			fields[col.Name] = notUnique
		}
	}
	if len(fields) == 0 {
		fields["id"] = notUnique
	}
	op := "create"
	if !rec.IsNew() {
		op = "update"
	}
	return &Error{Code: CodeInvalid, Message: "Failed to " + op + " record.", Fields: fields, Err: err}
}

func columnsIn(msg string, idx *Index) bool {
	for _, c := range idx.Columns {
		if !strings.Contains(msg, "."+c.Name) {
			return false
		}
	}
	return len(idx.Columns) > 0
}
