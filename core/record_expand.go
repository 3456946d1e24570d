package core

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

const (
	// maxExpandDepth is how many relations one expand path follows;
	// PocketBase ignores the rest of a longer path.
	maxExpandDepth = 6
	// maxBackRelationExpand caps the records one back-relation expands to,
	// per record, as PocketBase does.
	maxBackRelationExpand = 1000
	// expandChunk bounds the ids bound into one IN list, well under the
	// parameter limits of both drivers.
	expandChunk = 5000
)

var (
	backRelationPattern = regexp.MustCompile(`^(\w+)_via_(\w+)$`)
	// legacyBackRelationPattern is PocketBase's deprecated "comments(post)".
	legacyBackRelationPattern = regexp.MustCompile(`^(\w+)\((\w+)\)$`)
)

// expandNode is one relation of the expand tree: the records it loads go
// under key in the expand of each parent record.
type expandNode struct {
	key    string
	target *Collection
	// field is the relation of the parent collection (a direct relation),
	// via the relation of target that points at the parent (a
	// back-relation); exactly one is set.
	field    *Field
	via      *Field
	children []*expandNode
	// parents are the records of this level to expand, set while loading.
	parents []*Record
}

// multiple reports whether the node expands to an array.
func (n *expandNode) multiple() bool { return n.via != nil || n.field.IsMultiple() }

// groupKey is equal for the nodes of one level that one query can load.
func (n *expandNode) groupKey() string {
	if n.via != nil {
		return "via/" + n.target.ID + "/" + n.via.Name
	}
	return "rel/" + n.target.ID
}

// Expand loads the relations that paths name (PocketBase's expand syntax:
// comma-separated entries of dot-separated relation fields or
// <collection>_via_<field> back-relations) into the Expand of records, which
// all belong to one collection. Every expanded record must pass its
// collection's view rule for the caller of ctx, evaluated with @request.context
// "expand"; a path that is unknown, goes through a hidden field, or reaches
// a superusers-only collection is ignored as a whole. Each relation of each
// level is loaded with one query for all records.
func (s *RecordService) Expand(ctx context.Context, records []*Record, paths []string) error {
	if len(records) == 0 {
		return nil
	}
	req := RequestFrom(ctx)
	roots := s.expandTree(records[0].collection, paths, req)
	for _, n := range roots {
		n.parents = records
	}
	ereq := RequestFrom(ctx)
	ereq.Context = "expand"
	for level := roots; len(level) > 0; {
		next, err := s.expandLevel(ctx, level, ereq)
		if err != nil {
			return err
		}
		level = next
	}
	return nil
}

// ParseExpand splits the expand query parameter into its paths.
func ParseExpand(raw string) []string {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	return strings.Split(raw, ",")
}

// normalizeExpandPaths drops blanks and spaces, trims dangling dots, and
// keeps only the longest of paths that extend one another ("a" and "a.b"
// give "a.b"), each once.
func normalizeExpandPaths(paths []string) []string {
	var clean []string
	for _, p := range paths {
		p = strings.Trim(strings.ReplaceAll(p, " ", ""), ".")
		if p != "" {
			clean = append(clean, p)
		}
	}
	var out []string
	seen := map[string]bool{}
outer:
	for _, p := range clean {
		for _, q := range clean {
			if strings.HasPrefix(q, p+".") {
				continue outer
			}
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// expandTree resolves paths from collection c and merges them into a tree
// whose nodes share their common prefixes.
func (s *RecordService) expandTree(c *Collection, paths []string, req *RequestInfo) []*expandNode {
	var roots []*expandNode
	for _, p := range normalizeExpandPaths(paths) {
		chain, ok := s.expandChain(c, strings.Split(p, "."), req)
		if !ok {
			continue
		}
		level := &roots
		for _, step := range chain {
			var found *expandNode
			for _, n := range *level {
				if n.key == step.key {
					found = n
					break
				}
			}
			if found == nil {
				found = step
				*level = append(*level, found)
			}
			level = &found.children
		}
	}
	return roots
}

// expandChain resolves one path into its nodes, up to maxExpandDepth.
func (s *RecordService) expandChain(c *Collection, parts []string, req *RequestInfo) ([]*expandNode, bool) {
	if len(parts) > maxExpandDepth {
		parts = parts[:maxExpandDepth]
	}
	chain := make([]*expandNode, 0, len(parts))
	for _, part := range parts {
		n := s.expandStep(c, part, req)
		if n == nil {
			return nil, false
		}
		chain = append(chain, n)
		c = n.target
	}
	return chain, true
}

// expandStep resolves one path segment from collection c, or returns nil.
func (s *RecordService) expandStep(c *Collection, part string, req *RequestInfo) *expandNode {
	n := &expandNode{key: part}
	m := backRelationPattern.FindStringSubmatch(part)
	if m == nil {
		m = legacyBackRelationPattern.FindStringSubmatch(part)
	}
	if m != nil {
		target, err := s.app.collections.Find(m[1])
		if err != nil {
			return nil
		}
		via := target.Field(m[2])
		if via == nil || !via.RelatesTo(c.ID) {
			return nil
		}
		n.target, n.via = target, via
	} else {
		f := c.Field(part)
		if f == nil || !f.IsRelation() {
			return nil
		}
		target, err := s.app.collections.Find(f.Options.CollectionID)
		if err != nil {
			return nil
		}
		n.key, n.target, n.field = f.Name, target, f
	}
	rel := n.field
	if rel == nil {
		rel = n.via
	}
	if !isSuperuser(req) && (rel.Hidden || n.target.ViewRule == nil) {
		return nil
	}
	return n
}

// expandLevel loads the nodes of one level, sets them in their parents'
// expand, and returns the nodes of the next level.
func (s *RecordService) expandLevel(ctx context.Context, nodes []*expandNode, req *RequestInfo) ([]*expandNode, error) {
	var order []string
	groups := map[string][]*expandNode{}
	for _, n := range nodes {
		for _, p := range n.parents {
			if p.Expand == nil {
				p.Expand = map[string]any{} // expand: {} even when nothing relates
			}
		}
		k := n.groupKey()
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], n)
	}
	var next []*expandNode
	for _, k := range order {
		group := groups[k]
		var related func(n *expandNode, parent *Record) []*Record
		var err error
		if group[0].via != nil {
			related, err = s.loadBackRelations(ctx, group, req)
		} else {
			related, err = s.loadRelations(ctx, group, req)
		}
		if err != nil {
			return nil, err
		}
		for _, n := range group {
			loaded := n.assign(related)
			for _, child := range n.children {
				if len(loaded) > 0 {
					child.parents = loaded
					next = append(next, child)
				}
			}
		}
	}
	return next, nil
}

// assign sets the related records of each parent under n.key and returns
// the distinct records it set.
func (n *expandNode) assign(related func(n *expandNode, parent *Record) []*Record) []*Record {
	var loaded []*Record
	seen := map[*Record]bool{}
	for _, p := range n.parents {
		rels := related(n, p)
		if len(rels) == 0 {
			continue
		}
		if n.multiple() {
			p.Expand[n.key] = rels
		} else {
			p.Expand[n.key] = rels[0]
		}
		for _, r := range rels {
			if !seen[r] {
				seen[r] = true
				loaded = append(loaded, r)
			}
		}
	}
	return loaded
}

// loadRelations loads, in one query per chunk of ids, the records that the
// direct relations of group point at and that the view rule lets req see.
// Each node gets its own copies, so that nested expands of different
// nodes do not mix.
func (s *RecordService) loadRelations(ctx context.Context, group []*expandNode, req *RequestInfo) (func(*expandNode, *Record) []*Record, error) {
	target := group[0].target
	var ids []string
	seen := map[string]bool{}
	for _, n := range group {
		for _, p := range n.parents {
			for _, id := range valuesOf(p.data[n.field.Name]) {
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
		}
	}
	ruleSQL, ruleArgs, err := s.ruleCondition(target, "view", req)
	if err != nil || len(ids) == 0 {
		return func(*expandNode, *Record) []*Record { return nil }, nil
	}
	byNode := map[*expandNode]map[string]*Record{}
	byID := map[string]*Record{}
	for start := 0; start < len(ids); start += expandChunk {
		chunk := ids[start:min(start+expandChunk, len(ids))]
		in, args := inList(quote(target.Name)+`."id"`, chunk)
		recs, err := s.query(ctx, target, and(in, ruleSQL), append(args, ruleArgs...), "")
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			byID[r.ID()] = r
		}
	}
	for i, n := range group {
		if i == 0 {
			byNode[n] = byID
			continue
		}
		copies := make(map[string]*Record, len(byID))
		for id, r := range byID {
			copies[id] = r.clone()
		}
		byNode[n] = copies
	}
	return func(n *expandNode, parent *Record) []*Record {
		var out []*Record
		for _, id := range valuesOf(parent.data[n.field.Name]) {
			if r, ok := byNode[n][id]; ok {
				out = append(out, r)
			}
		}
		return out
	}, nil
}

// loadBackRelations loads, in one query per chunk of parents, the records
// whose relation group[0].via points at a parent and that the view rule
// lets req see: at most maxBackRelationExpand per parent, in insertion
// order.
func (s *RecordService) loadBackRelations(ctx context.Context, group []*expandNode, req *RequestInfo) (func(*expandNode, *Record) []*Record, error) {
	target, via := group[0].target, group[0].via
	var ids []string
	seen := map[string]bool{}
	for _, n := range group {
		for _, p := range n.parents {
			if id := p.ID(); !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	ruleSQL, ruleArgs, err := s.ruleCondition(target, "view", req)
	if err != nil || len(ids) == 0 {
		return func(*expandNode, *Record) []*Record { return nil }, nil
	}
	byParent := map[string][]*Record{}
	for start := 0; start < len(ids); start += expandChunk {
		chunk := ids[start:min(start+expandChunk, len(ids))]
		if err := s.queryBackRelations(ctx, target, via, chunk, ruleSQL, ruleArgs, byParent); err != nil {
			return nil, err
		}
	}
	byNode := map[*expandNode]map[string][]*Record{}
	for i, n := range group {
		if i == 0 {
			byNode[n] = byParent
			continue
		}
		// One copy per record, shared by its parents, as in the first node.
		copies := map[*Record]*Record{}
		m := make(map[string][]*Record, len(byParent))
		for pid, recs := range byParent {
			for _, r := range recs {
				if copies[r] == nil {
					copies[r] = r.clone()
				}
				m[pid] = append(m[pid], copies[r])
			}
		}
		byNode[n] = m
	}
	return func(n *expandNode, parent *Record) []*Record { return byNode[n][parent.ID()] }, nil
}

// queryBackRelations runs one back-relation query for parent ids and adds
// its records to byParent. A window function caps each parent's records in
// the database; a record that points at several parents is read once per
// parent but kept as one Record.
func (s *RecordService) queryBackRelations(ctx context.Context, target *Collection, via *Field, parentIDs []string, ruleSQL string, ruleArgs []any, byParent map[string][]*Record) error {
	table := quote(target.Name)
	parent := table + "." + quote(via.Name)
	from := table
	if via.IsMultiple() {
		each, value := s.app.dialect.JSONEach(parent, `"__je"`)
		from, parent = table+", "+each, value
	}
	order := table + `."id"`
	if !target.IsView() {
		order = s.app.dialect.RowID(table)
	}
	in, args := inList(parent, parentIDs)
	q := fmt.Sprintf(`SELECT "__b".* FROM (SELECT %s, %s AS "__parent", ROW_NUMBER() OVER (PARTITION BY %s ORDER BY %s) AS "__n" FROM %s WHERE %s) "__b" WHERE "__b"."__n" <= ? ORDER BY "__b"."__n"`,
		s.selectList(target), parent, parent, order, from, and(in, ruleSQL))
	args = append(append(args, ruleArgs...), maxBackRelationExpand)
	rows, err := s.app.ReadDB(ctx).Raw(q, args...).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()

	nf := len(target.Fields)
	vals := make([]any, nf+2)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	byID := map[string]*Record{}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		r := &Record{collection: target, data: make(map[string]any, nf)}
		for i, f := range target.Fields {
			r.data[f.Name] = normalize(f, vals[i])
		}
		if known, ok := byID[r.ID()]; ok {
			r = known
		} else {
			r.original = make(map[string]any, nf)
			for k, v := range r.data {
				r.original[k] = v
			}
			byID[r.ID()] = r
		}
		pid := toString(vals[nf])
		byParent[pid] = append(byParent[pid], r)
	}
	return rows.Err()
}

// inList is "col IN (?, ...)" with its arguments.
func inList(col string, values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")", args
}

// ExportFor returns the record as the requester of req may see it, with
// the records expanded into it exported by the same rules: superusers see
// hidden fields, and an auth record shows its email to superusers and to
// itself.
func (r *Record) ExportFor(req *RequestInfo) map[string]any {
	return r.publicExport(req.exportOptions)
}

// exportOptions are the export options of record r for the requester.
func (req *RequestInfo) exportOptions(r *Record) ExportOptions {
	if req == nil {
		return ExportOptions{}
	}
	owner := req.Actor.ID != "" && req.Actor.ID == r.ID() && req.Actor.CollectionID == r.collection.ID
	return ExportOptions{ShowHidden: req.IsSuperuser(), ShowEmail: req.IsSuperuser() || owner}
}

// exportExpand exports expanded records, each with its own options.
func exportExpand(expand map[string]any, optsFor func(*Record) ExportOptions) map[string]any {
	out := make(map[string]any, len(expand))
	for k, v := range expand {
		switch x := v.(type) {
		case *Record:
			out[k] = x.publicExport(optsFor)
		case []*Record:
			list := make([]map[string]any, len(x))
			for i, r := range x {
				list[i] = r.publicExport(optsFor)
			}
			out[k] = list
		default:
			out[k] = v
		}
	}
	return out
}
