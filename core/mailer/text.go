package mailer

import (
	"html"
	"strings"
)

// lineTags end a line in the text alternative; paragraphTags also leave a
// blank line around them.
var (
	lineTags = map[string]bool{
		"div": true, "tr": true, "table": true, "ul": true, "ol": true,
		"section": true, "article": true, "header": true, "footer": true, "hr": true, "pre": true,
	}
	paragraphTags = map[string]bool{
		"p": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "blockquote": true,
	}
	// skipTags hide their content: it is not meant to be read.
	skipTags = map[string]bool{"head": true, "style": true, "script": true, "title": true}
)

// HTMLToText returns a plain-text rendering of an HTML email body: tags
// dropped, block elements on their own lines, list items dashed, link
// targets written after their text, entities decoded. It is meant for the
// simple markup of mail templates, not for arbitrary pages.
func HTMLToText(s string) string {
	var (
		b         strings.Builder
		skipping  string
		href      string
		linkStart int
	)
	for i := 0; i < len(s); {
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s) - i
			}
			if skipping == "" {
				writeText(&b, s[i:i+j])
			}
			i += j
			continue
		}
		if strings.HasPrefix(s[i:], "<!--") {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				break
			}
			i += 4 + end + 3
			continue
		}
		end := strings.IndexByte(s[i:], '>')
		if end < 0 {
			break // an unterminated tag: drop the rest
		}
		name, closing, attrs := parseTag(s[i+1 : i+end])
		i += end + 1
		if skipping != "" {
			if closing && name == skipping {
				skipping = ""
			}
			continue
		}
		switch {
		case skipTags[name] && !closing:
			skipping = name
		case name == "a" && !closing:
			href, linkStart = strings.TrimSpace(html.UnescapeString(attr(attrs, "href"))), b.Len()
		case name == "a":
			label := strings.TrimSpace(b.String()[min(linkStart, b.Len()):])
			if href != "" && !strings.HasPrefix(href, "#") && label != href {
				b.WriteString(" (" + href + ")")
			}
			href = ""
		case name == "br":
			b.WriteString("\n")
		case name == "li":
			if !closing {
				endLines(&b, 1)
				b.WriteString("- ")
			}
		case paragraphTags[name]:
			endLines(&b, 2)
		case lineTags[name]:
			endLines(&b, 1)
		}
	}
	return tidyLines(b.String())
}

// writeText writes a text node with HTML's whitespace collapsing.
func writeText(b *strings.Builder, text string) {
	words := strings.Fields(text)
	if text != "" && isSpace(text[0]) {
		space(b)
	}
	if len(words) == 0 {
		return
	}
	b.WriteString(strings.ReplaceAll(html.UnescapeString(strings.Join(words, " ")), "\u00a0", " "))
	if isSpace(text[len(text)-1]) {
		space(b)
	}
}

// endLines makes b end with at least n line breaks (trailing spaces
// aside), so that nested blocks do not pile up blank lines.
func endLines(b *strings.Builder, n int) {
	s := strings.TrimRight(b.String(), " ")
	have := len(s) - len(strings.TrimRight(s, "\n"))
	if s == "" {
		return
	}
	for ; have < n; have++ {
		b.WriteByte('\n')
	}
}

// space writes one space unless b is empty or already ends in whitespace.
func space(b *strings.Builder) {
	if s := b.String(); s != "" && !isSpace(s[len(s)-1]) {
		b.WriteByte(' ')
	}
}

// parseTag splits the inside of a tag into its lowercased name, whether it
// closes, and its attribute text.
func parseTag(tag string) (name string, closing bool, attrs string) {
	tag = strings.TrimSpace(strings.TrimSuffix(tag, "/"))
	if strings.HasPrefix(tag, "/") {
		closing, tag = true, tag[1:]
	}
	name, attrs, _ = strings.Cut(tag, " ")
	if n, rest, ok := strings.Cut(name, "\n"); ok {
		name, attrs = n, rest+" "+attrs
	}
	return strings.ToLower(strings.TrimSpace(name)), closing, attrs
}

// attr returns the value of attribute key in attrs ("" if absent).
func attr(attrs, key string) string {
	lower := strings.ToLower(attrs)
	for from := 0; ; {
		i := strings.Index(lower[from:], key)
		if i < 0 {
			return ""
		}
		i += from
		from = i + len(key)
		if i > 0 && !isSpace(lower[i-1]) {
			continue
		}
		rest := strings.TrimLeft(attrs[from:], " \t\r\n")
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		rest = strings.TrimLeft(rest[1:], " \t\r\n")
		if rest == "" {
			return ""
		}
		if q := rest[0]; q == '"' || q == '\'' {
			if end := strings.IndexByte(rest[1:], q); end >= 0 {
				return rest[1 : 1+end]
			}
			return rest[1:]
		}
		if end := strings.IndexAny(rest, " \t\r\n"); end >= 0 {
			return rest[:end]
		}
		return rest
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// tidyLines trims every line and keeps at most one blank line in a row.
func tidyLines(s string) string {
	var out []string
	blank := true // drops leading blank lines
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, line)
		blank = false
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
