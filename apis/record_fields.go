package apis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/labstack/echo/v4"
	"golang.org/x/net/html"
)

// fieldsParam is the query parameter that picks the keys of a response.
const fieldsParam = "fields"

// modifier changes a picked value, e.g. :excerpt(200,true).
type modifier interface {
	modify(v any) any
}

// pickSpec maps a key path ("title", "expand.author.name", "*") to the
// modifier of its value, nil for none.
type pickSpec map[string]modifier

// jsonPicked writes data as the JSON response. On success the fields query
// parameter picks the keys to keep: of each item for a list result, of the
// whole body otherwise. Error responses are never picked.
func jsonPicked(c echo.Context, status int, data any) error {
	raw := c.QueryParam(fieldsParam)
	if raw == "" || status < 200 || status > 299 {
		return writeJSON(c, status, data)
	}
	spec, err := parsePickSpec(raw)
	if err != nil {
		return core.Wrap(err, core.CodeInvalid, "Something went wrong while processing your request. Invalid fields parameter.")
	}
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers come back as they went out
	var decoded any
	if err := dec.Decode(&decoded); err != nil {
		return err
	}
	switch data.(type) {
	case core.ListResult[map[string]any], *core.ListResult[map[string]any]:
		if m, ok := decoded.(map[string]any); ok {
			pickValue(m["items"], spec)
		}
	default:
		pickValue(decoded, spec)
	}
	return c.JSON(status, decoded)
}

// parsePickSpec parses a fields parameter: comma-separated key paths, each
// with an optional :modifier(args). Commas inside parentheses or quotes do
// not separate.
func parsePickSpec(raw string) (pickSpec, error) {
	spec := pickSpec{}
	for _, item := range splitTopLevel(raw) {
		path, mod, hasMod := strings.Cut(strings.TrimSpace(item), ":")
		path = strings.TrimSpace(path)
		if !hasMod {
			spec[path] = nil
			continue
		}
		m, err := parseModifier(mod)
		if err != nil {
			return nil, err
		}
		spec[path] = m
	}
	return spec, nil
}

// splitTopLevel splits s on the commas outside parentheses and quotes and
// drops blank parts.
func splitTopLevel(s string) []string {
	var parts []string
	var quote rune
	depth, start := 0, 0
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'' || r == '`':
			quote = r
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case r == ',' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	parts = append(parts, s[start:])
	return slices.DeleteFunc(parts, func(p string) bool { return strings.TrimSpace(p) == "" })
}

// parseModifier parses "name(arg, ...)": the name and arguments are
// separated by parentheses, commas or spaces.
func parseModifier(raw string) (modifier, error) {
	parts := strings.FieldsFunc(raw, func(r rune) bool { return strings.ContainsRune("(), ", r) })
	if len(parts) == 0 {
		return nil, fmt.Errorf("empty fields modifier")
	}
	switch name, args := parts[0], parts[1:]; name {
	case "excerpt":
		return newExcerpt(args)
	default:
		return nil, fmt.Errorf("unknown fields modifier %q", name)
	}
}

// pickValue reduces v in place: a map to the keys spec names, a list of
// maps item by item. Other values are left alone.
func pickValue(v any, spec pickSpec) {
	switch x := v.(type) {
	case map[string]any:
		pickMap(x, spec)
	case []any:
		for _, item := range x {
			if m, ok := item.(map[string]any); ok {
				pickMap(m, spec)
			}
		}
	}
}

// pickMap keeps the keys of data that spec names, applies their
// modifiers and descends into the rest of their paths. "*" names every key
// that no other path names, with its modifier.
func pickMap(data map[string]any, spec pickSpec) {
	if len(spec) == 0 {
		return
	}
	for k, v := range data {
		var final, matched bool
		var mod modifier
		sub := pickSpec{}
		for path, m := range spec {
			switch {
			case path == k:
				final, matched, mod = true, true, m
			case strings.HasPrefix(path, k+"."):
				matched = true
				sub[strings.TrimPrefix(path, k+".")] = m
			}
		}
		if !matched {
			if m, ok := spec["*"]; ok {
				final, matched, mod = true, true, m
			}
		}
		switch {
		case !matched:
			delete(data, k)
		case final:
			if mod != nil {
				data[k] = mod.modify(v)
			}
		default:
			pickValue(v, sub)
		}
	}
}

// excerpt is the :excerpt(max, withEllipsis?) modifier: the plain text of
// an HTML string, whitespace collapsed, cut to about max bytes.
type excerpt struct {
	max          int
	withEllipsis bool
}

func newExcerpt(args []string) (*excerpt, error) {
	if len(args) == 0 || len(args) > 2 {
		return nil, fmt.Errorf("excerpt expects (max, withEllipsis?)")
	}
	maxLen, err := strconv.ParseFloat(args[0], 64)
	if err != nil || int(maxLen) <= 0 {
		return nil, fmt.Errorf("excerpt max must be a number > 0")
	}
	e := &excerpt{max: int(maxLen)}
	if len(args) == 2 {
		e.withEllipsis, _ = strconv.ParseBool(args[1])
	}
	return e, nil
}

var whitespace = regexp.MustCompile(`\s+`)

// excerptSkipped are elements whose content is not text to show.
var excerptSkipped = []string{
	"head", "style", "script", "iframe", "embed", "applet", "object",
	"svg", "img", "picture", "dialog", "template", "button", "form",
	"textarea", "input", "select", "option",
}

// excerptInline are elements that do not separate words.
var excerptInline = []string{
	"a", "abbr", "acronym", "b", "bdo", "big", "br", "button",
	"cite", "code", "em", "i", "label", "q", "small", "span",
	"strong", "strike", "sub", "sup", "time",
}

// modify returns the excerpt of a string; other values (a missing expand,
// a number) pass unchanged, as in PocketBase.
func (e *excerpt) modify(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		return ""
	}
	// +2 for the spaces around the text that trimming removes.
	out := strings.TrimSpace(plainText(doc, e.max+2))
	if len(out) > e.max {
		// PocketBase cuts at max bytes; back off to a rune boundary so that
		// the text stays valid UTF-8.
		cut := e.max
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = strings.TrimSpace(out[:cut])
		if e.withEllipsis {
			out += "..."
		}
	}
	return out
}

// plainText returns the text of doc without the elements that hold no
// readable text, whitespace collapsed, block elements separated by a
// space. It stops early once it has more than limit bytes.
func plainText(doc *html.Node, limit int) string {
	var b strings.Builder
	space := false // the text so far ends with a space
	pad := func() {
		if !space {
			b.WriteString(" ")
			space = true
		}
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			txt := whitespace.ReplaceAllString(n.Data, " ")
			if space {
				txt = strings.TrimLeft(txt, " ")
			}
			if txt != "" {
				space = strings.HasSuffix(txt, " ")
				b.WriteString(txt)
			}
		}
		if b.Len() > limit {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			isElement := c.Type == html.ElementNode
			if isElement && slices.Contains(excerptSkipped, c.Data) {
				continue
			}
			block := isElement && !slices.Contains(excerptInline, c.Data)
			if block {
				pad()
			}
			walk(c)
			if block {
				pad()
			}
		}
	}
	walk(doc)
	return b.String()
}
