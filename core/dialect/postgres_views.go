package dialect

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"

	"github.com/hatchgrid/hatchgrid/core/security"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// DefaultViewRole owns restricted views on PostgreSQL unless
// database.view_role names another role.
const DefaultViewRole = "hatchgrid_views"

// pgFunctions are the functions of pg_catalog a restricted view may call,
// besides the cast functions (pg_cast): ordinary string, number, date,
// JSON, aggregate and window functions. Left out: everything that reads
// files or the server's state (pg_read_file, pg_ls_dir, current_setting),
// runs SQL given as text (query_to_xml and its kin), writes (nextval,
// setval, set_config, lo_*), sleeps or signals (pg_sleep,
// pg_terminate_backend) or reaches other sessions (pg_notify, advisory
// locks, dblink).
var pgFunctions = setOf(
	// string
	"lower", "upper", "initcap", "length", "char_length", "character_length", "octet_length",
	"bit_length", "substr", "substring", "trim", "btrim", "ltrim", "rtrim", "replace", "concat",
	"concat_ws", "left", "right", "lpad", "rpad", "position", "strpos", "split_part", "reverse",
	"repeat", "starts_with", "translate", "format", "regexp_replace", "regexp_match",
	"regexp_matches", "regexp_like", "regexp_count", "regexp_substr", "regexp_instr",
	"regexp_split_to_array", "regexp_split_to_table", "string_to_array", "array_to_string",
	"md5", "encode", "decode", "ascii", "chr", "quote_literal", "quote_ident", "to_hex",
	"textcat", "like", "ilike", "unistr", "normalize",
	// number
	"abs", "ceil", "ceiling", "floor", "round", "trunc", "mod", "power", "pow", "sqrt", "cbrt",
	"exp", "ln", "log", "log10", "sign", "pi", "degrees", "radians", "div", "gcd", "lcm",
	"random", "width_bucket", "scale", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
	"to_char", "to_number",
	// date and time
	"now", "date_trunc", "date_part", "extract", "age", "make_date", "make_time", "make_timestamp",
	"make_timestamptz", "make_interval", "to_date", "to_timestamp", "date_bin", "isfinite",
	"justify_days", "justify_hours", "justify_interval", "timezone", "statement_timestamp",
	"transaction_timestamp", "clock_timestamp",
	// JSON
	"to_json", "to_jsonb", "json_build_object", "jsonb_build_object", "json_build_array",
	"jsonb_build_array", "json_object", "jsonb_object", "json_array_length", "jsonb_array_length",
	"json_array_elements", "jsonb_array_elements", "json_array_elements_text",
	"jsonb_array_elements_text", "json_each", "jsonb_each", "json_each_text", "jsonb_each_text",
	"json_extract_path", "jsonb_extract_path", "json_extract_path_text", "jsonb_extract_path_text",
	"json_object_keys", "jsonb_object_keys", "json_typeof", "jsonb_typeof", "jsonb_set",
	"jsonb_insert", "jsonb_strip_nulls", "json_strip_nulls", "jsonb_pretty", "jsonb_path_query",
	"jsonb_path_query_first", "jsonb_path_exists", "jsonb_path_match", "jsonb_path_query_array",
	"row_to_json", "array_to_json",
	// arrays and rows
	"array_length", "cardinality", "array_position", "array_positions", "array_append",
	"array_prepend", "array_cat", "array_remove", "array_replace", "unnest", "generate_series",
	"generate_subscripts", "array_lower", "array_upper", "array_ndims", "array_dims",
	// conditional
	"num_nulls", "num_nonnulls",
	// aggregate
	"count", "sum", "avg", "min", "max", "string_agg", "array_agg", "json_agg", "jsonb_agg",
	"json_object_agg", "jsonb_object_agg", "bool_and", "bool_or", "every", "bit_and", "bit_or",
	"stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp", "corr",
	"covar_pop", "covar_samp", "mode", "percentile_cont", "percentile_disc",
	// window
	"row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
	"first_value", "last_value", "nth_value",
)

// Tokens of a stored parse tree (pg_rewrite.ev_action as text) that name
// a relation, and a function called as such, as an aggregate or as a
// window function. Constants are serialised as bytes, and identifiers
// with spaces escaped, so the query's own text cannot fake one; a fake
// could only make the check stricter anyway.
var (
	pgRelidToken = regexp.MustCompile(`:relid (\d+)`)
	pgFuncToken  = regexp.MustCompile(`:(?:funcid|aggfnoid|winfnoid) (\d+)`)
)

// pgViews confines restricted views on PostgreSQL. Each belongs to the
// view role, which may only read the user collections it reads: a
// view's relations are read with its owner's rights, so a system table
// stays out of reach at every read, whatever changed since. Functions
// run with the reader's rights (the app's role), so the functions of the
// view's stored parse tree, and of the views it reads, must be on
// pgFunctions or be casts.
type pgViews struct {
	role string
	pool *gorm.DB // outside any transaction, for the role's setup

	mu    sync.Mutex
	ready bool
}

// Check implements ViewGuard, inside a savepoint, so that a refusal
// leaves db's transaction usable.
func (v *pgViews) Check(db *gorm.DB, name string, readable func(string) bool) error {
	if err := v.setup(); err != nil {
		return err
	}
	savepoint := "hg_view_check_" + security.RandomString(8, security.IDAlphabet)
	if err := db.Exec("SAVEPOINT " + savepoint).Error; err != nil {
		return err
	}
	err := v.check(db, name, readable)
	if err != nil {
		if rerr := db.Exec("ROLLBACK TO SAVEPOINT " + savepoint).Error; rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return db.Exec("RELEASE SAVEPOINT " + savepoint).Error
}

func (v *pgViews) check(db *gorm.DB, name string, readable func(string) bool) error {
	var oid int64
	if err := db.Raw("SELECT ?::regclass::oid", QuoteIdent(name)).Scan(&oid).Error; err != nil {
		return err
	}
	reads, err := v.walk(db, oid, readable, map[int64]bool{oid: true})
	if err != nil {
		return err
	}
	role := QuoteIdent(v.role)
	for _, rel := range reads {
		if err := db.Exec("GRANT SELECT ON " + QuoteIdent(rel) + " TO " + role).Error; err != nil {
			return err
		}
	}
	if err := db.Exec("ALTER VIEW " + QuoteIdent(name) + " OWNER TO " + role).Error; err != nil {
		return err
	}
	// Read it as its owner would: the database checks every privilege
	// the view needs, function EXECUTE rights included.
	if err := db.Exec("SET LOCAL ROLE " + role).Error; err != nil {
		return err
	}
	rows, err := db.Raw("SELECT * FROM " + QuoteIdent(name) + " LIMIT 0 /* view check " + security.NewID() + " */").Rows()
	if err == nil {
		err = rows.Close()
	}
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
			return viewErrorf("%s", pe.Message)
		}
		return err
	}
	return db.Exec("RESET ROLE").Error
}

// walk checks the stored parse tree of the view oid and of the views it
// reads, returning the names of the relations read.
func (v *pgViews) walk(db *gorm.DB, oid int64, readable func(string) bool, seen map[int64]bool) ([]string, error) {
	var tree string
	err := db.Raw(`SELECT ev_action::text FROM pg_rewrite WHERE ev_class = ? AND rulename = '_RETURN'`, oid).Scan(&tree).Error
	if err != nil {
		return nil, err
	}
	for _, m := range pgFuncToken.FindAllStringSubmatch(tree, -1) {
		if err := v.checkFunction(db, m[1]); err != nil {
			return nil, err
		}
	}
	var reads []string
	for _, m := range pgRelidToken.FindAllStringSubmatch(tree, -1) {
		rel, _ := strconv.ParseInt(m[1], 10, 64)
		if rel == 0 || seen[rel] {
			continue
		}
		seen[rel] = true
		var r struct {
			Name  string
			Kind  string
			Local bool
		}
		err := db.Raw(`SELECT c.relname AS name, c.relkind::text AS kind, n.nspname = current_schema() AS local
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ?`, rel).Scan(&r).Error
		if err != nil {
			return nil, err
		}
		if !r.Local || !readable(r.Name) || (r.Kind != "r" && r.Kind != "v" && r.Kind != "p") {
			return nil, viewErrorf("it may not read the table %s", r.Name)
		}
		reads = append(reads, r.Name)
		if r.Kind == "v" {
			nested, err := v.walk(db, rel, readable, seen)
			if err != nil {
				return nil, err
			}
			reads = append(reads, nested...)
		}
	}
	return reads, nil
}

// checkFunction refuses a function that is neither on pgFunctions nor a
// cast, or that lives outside pg_catalog.
func (v *pgViews) checkFunction(db *gorm.DB, oid string) error {
	var f struct {
		Name    string
		Catalog bool
		Cast    bool
	}
	err := db.Raw(`SELECT p.proname AS name, n.nspname = 'pg_catalog' AS catalog,
		EXISTS (SELECT 1 FROM pg_cast WHERE castfunc = p.oid) AS cast
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = ?`, oid).Scan(&f).Error
	if err != nil {
		return err
	}
	if f.Name == "" || !f.Catalog || !(f.Cast || pgFunctions[f.Name]) {
		return viewErrorf("it may not call the function %s()", f.Name)
	}
	return nil
}

// setup makes sure, once, that the view role exists, that this
// connection's role may hand views to it, and that it may own views in
// the schema. Creating the role needs CREATEROLE; without it an operator
// creates the role and grants it to the app's role (docs/security.md).
func (v *pgViews) setup() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ready {
		return nil
	}
	db := v.pool
	var exists bool
	if err := db.Raw("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?)", v.role).Scan(&exists).Error; err != nil {
		return err
	}
	role := QuoteIdent(v.role)
	if !exists {
		err := db.Exec("CREATE ROLE " + role + " NOLOGIN").Error
		var pe *pgconn.PgError
		if err != nil && !(errors.As(err, &pe) && (pe.Code == "42710" || pe.Code == "23505")) { // created meanwhile
			return viewErrorf("views written by staff need the PostgreSQL role %s, which is missing and cannot be created (%v); see docs/security.md", v.role, err)
		}
	}
	var member bool
	err := db.Raw(`SELECT pg_has_role(current_user, ?, 'MEMBER')`, v.role).Scan(&member).Error
	if err != nil {
		return err
	}
	if !member {
		if err := db.Exec("GRANT " + role + " TO CURRENT_USER").Error; err != nil {
			return viewErrorf("views written by staff need the PostgreSQL role %s granted to the app's role (%v); see docs/security.md", v.role, err)
		}
	}
	var schema string
	if err := db.Raw("SELECT current_schema()").Scan(&schema).Error; err != nil {
		return err
	}
	if err := db.Exec(fmt.Sprintf("GRANT USAGE, CREATE ON SCHEMA %s TO %s", QuoteIdent(schema), role)).Error; err != nil {
		return err
	}
	v.ready = true
	return nil
}
