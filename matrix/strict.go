package matrix

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The strict scanner: one linear pass over a document (or a journal
// line) that checks what encoding/json lets through and a strict JSON
// parser refuses, and finds the top-level cells array for the decoder
// (decode.go). Refused, each with the byte where it is:
//
//   - a key twice in one object, compared after unescaping ("c\u0065lls"
//     is "cells"): encoding/json keeps the last, a streaming reader may
//     take the first, a strict parser refuses;
//   - a key that is a field of the document only when case is ignored
//     ("CELLS"): encoding/json matches field names case-insensitively, a
//     strict parser does not;
//   - invalid UTF-8 in a string, which encoding/json turns into U+FFFD
//     (so two different keys could become one);
//   - nesting deeper than maxDepth, and any syntax error.
//
// Knowing the document's schema (from the Go types' json tags) is what
// lets it tell a field from any other key; it never decodes values.

// Caps on what the readers accept; a document past them is absurd (a
// 200,000-cell run is about 300 MB, a cell a few KB). Variables so that
// tests can lower them.
var (
	// maxDocumentBytes caps a results document and a journal.
	maxDocumentBytes int64 = 4 << 30
	// maxValueBytes caps one cell, one top-level field other than the
	// cells, and one journal line.
	maxValueBytes int64 = 64 << 20
)

// maxDepth caps nesting; run documents nest six deep.
const maxDepth = 128

// errMore: the input ended inside a value; with more input it may end.
var errMore = errors.New("more input needed")

// syntaxError is input that is not JSON; the caller explains it in the
// document's terms (explain), from the whole document.
type syntaxError struct{ off int64 }

func (e *syntaxError) Error() string { return fmt.Sprintf("not JSON at byte %d", e.off) }

// strictError is valid-looking JSON that this reader refuses, with its
// message in the document's terms.
type strictError struct{ msg string }

func (e *strictError) Error() string { return e.msg }

// schema is what the scanner knows about a value: for an object decoded
// into a struct, its fields; for an array or a map, its elements. nil is
// any value (a json.RawMessage, a number): its objects are only checked
// for duplicate keys.
type schema struct {
	kind   reflect.Kind      // reflect.Struct, reflect.Slice or reflect.Map
	names  map[string]int    // struct: key → field index
	folded map[string]string // struct: folded key → key
	fields []*schema         // struct: the field's schema
	elem   *schema           // slice, map: the element's
	keys   []string          // struct: the keys, by index
}

var (
	schemaMu    sync.Mutex
	schemaCache = map[reflect.Type]*schema{}
)

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// schemaOf is the schema of values decoded into t, by encoding/json's
// rules: json tags, embedded structs' fields promoted, "-" skipped.
func schemaOf(t reflect.Type) *schema {
	schemaMu.Lock()
	defer schemaMu.Unlock()
	return schemaLocked(t)
}

func schemaLocked(t reflect.Type) *schema {
	if s, ok := schemaCache[t]; ok {
		return s
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaLocked(t.Elem())
	case reflect.Slice, reflect.Array, reflect.Map:
		s := &schema{kind: t.Kind()}
		if t.Kind() == reflect.Array {
			s.kind = reflect.Slice
		}
		schemaCache[t] = s
		s.elem = schemaLocked(t.Elem())
		return s
	case reflect.Struct:
		s := &schema{kind: reflect.Struct, names: map[string]int{}, folded: map[string]string{}}
		schemaCache[t] = s
		var add func(t reflect.Type)
		add = func(t reflect.Type) {
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				tag := f.Tag.Get("json")
				name, _, _ := cutComma(tag)
				switch {
				case tag == "-":
					continue
				case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
					add(f.Type)
					continue
				case !f.IsExported():
					continue
				case name == "":
					name = f.Name
				}
				s.names[name] = len(s.fields)
				s.folded[foldKey(name)] = name
				s.keys = append(s.keys, name)
				s.fields = append(s.fields, schemaLocked(f.Type))
			}
		}
		add(t)
		if len(s.fields) > 64 {
			panic("matrix: schema of " + t.String() + " has more than 64 fields")
		}
		return s
	}
	return nil
}

func cutComma(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// foldKey folds a key as encoding/json does when it matches a field name
// ignoring case: ASCII upper-cased, other runes through ToLower then
// ToUpper (so "ſ" matches "s", "K" (Kelvin) matches "k").
func foldKey(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b = append(b, byte(r))
			continue
		}
		b = utf8.AppendRune(b, unicode.ToUpper(unicode.ToLower(r)))
	}
	return string(b)
}

// scanner checks JSON values in b, which starts at byte base of the
// document.
type scanner struct {
	b     []byte
	base  int64
	depth int
}

func (s *scanner) off(i int) int64 { return s.base + int64(i) }

func (s *scanner) syntax(i int) error { return &syntaxError{off: s.off(i) + 1} }

func (s *scanner) strictf(i int, format string, a ...any) error {
	return &strictError{msg: fmt.Sprintf(format, a...) + fmt.Sprintf(" (at byte %d)", s.off(i)+1)}
}

func (s *scanner) ws(i int) int {
	for i < len(s.b) {
		switch s.b[i] {
		case ' ', '\n', '\t', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value scans the value at i (after any white space) and returns where
// it ends.
func (s *scanner) value(i int, sc *schema) (int, error) {
	i = s.ws(i)
	if i == len(s.b) {
		return i, errMore
	}
	switch c := s.b[i]; {
	case c == '{':
		return s.object(i, sc)
	case c == '[':
		return s.array(i, sc)
	case c == '"':
		end, _, err := s.str(i)
		return end, err
	case c == 't':
		return s.literal(i, "true")
	case c == 'f':
		return s.literal(i, "false")
	case c == 'n':
		return s.literal(i, "null")
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number(i)
	}
	return i, s.syntax(i)
}

func (s *scanner) literal(i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k == len(s.b) {
			return i, errMore
		}
		if s.b[i+k] != lit[k] {
			return i, s.syntax(i + k)
		}
	}
	return i + len(lit), nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?. A number
// that reaches the end of b may go on: errMore.
func (s *scanner) number(i int) (int, error) {
	b := s.b
	j := i
	if b[j] == '-' {
		j++
	}
	digits := func(j int) (int, error) {
		if j == len(b) {
			return j, errMore
		}
		if !isDigit(b[j]) {
			return j, s.syntax(j)
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		return j, nil
	}
	if j == len(b) {
		return j, errMore
	}
	var err error
	if b[j] == '0' {
		j++
	} else if j, err = digits(j); err != nil {
		return j, err
	}
	if j < len(b) && b[j] == '.' {
		if j, err = digits(j + 1); err != nil {
			return j, err
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j, err = digits(j); err != nil {
			return j, err
		}
	}
	if j == len(b) {
		return j, errMore
	}
	return j, nil
}

func isHex(c byte) bool { return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F') }

// str scans the string at i (a '"') and returns where it ends and
// whether it has escapes.
func (s *scanner) str(i int) (end int, escaped bool, err error) {
	b := s.b
	j := i + 1
	for j < len(b) {
		c := b[j]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			j++
			continue
		}
		switch {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			if j+1 == len(b) {
				return j, escaped, errMore
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if j+k == len(b) {
						return j, escaped, errMore
					}
					if !isHex(b[j+k]) {
						return j, escaped, s.syntax(j + k)
					}
				}
				j += 6
			default:
				return j, escaped, s.syntax(j + 1)
			}
		case c < 0x20:
			return j, escaped, s.syntax(j)
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size <= 1 {
				if !utf8.FullRune(b[j:]) {
					return j, escaped, errMore
				}
				return j, escaped, s.strictf(j, "invalid UTF-8 in a string; a results document is UTF-8 (dlcompat writes every string so)")
			}
			j += size
		}
	}
	return j, escaped, errMore
}

func (s *scanner) enter(i int) error {
	s.depth++
	if s.depth > maxDepth {
		return s.strictf(i, "values nested deeper than %d levels; a results document nests six", maxDepth)
	}
	return nil
}

func (s *scanner) array(i int, sc *schema) (int, error) {
	if err := s.enter(i); err != nil {
		return i, err
	}
	defer func() { s.depth-- }()
	var elem *schema
	if sc != nil && sc.kind == reflect.Slice {
		elem = sc.elem
	}
	j := s.ws(i + 1)
	if j == len(s.b) {
		return j, errMore
	}
	if s.b[j] == ']' {
		return j + 1, nil
	}
	for {
		var err error
		if j, err = s.value(j, elem); err != nil {
			return j, err
		}
		var done bool
		if j, done, err = s.after(j, ']'); err != nil || done {
			return j, err
		}
	}
}

// after scans what follows a member or an element: a comma (done false:
// more follow, from the returned index) or the closing byte (done).
func (s *scanner) after(j int, closing byte) (int, bool, error) {
	j = s.ws(j)
	if j == len(s.b) {
		return j, false, errMore
	}
	switch s.b[j] {
	case ',':
		return j + 1, false, nil
	case closing:
		return j + 1, true, nil
	}
	return j, false, s.syntax(j)
}

// keySet tracks the keys of one object.
type keySet struct {
	fields uint64    // struct fields seen, by index
	small  [8][]byte // other keys, the first eight
	n      int
	big    map[string]bool
	// own: keep copies of the keys (the decoder's top level, whose
	// buffer moves), not slices of the input.
	own bool
}

// key checks a key (unescaped) of an object of schema sc and returns the
// schema of its value. With commit, it records the key as seen; without,
// it only checks (the decoder commits a top-level member once it has all
// of it).
func (s *scanner) key(sc *schema, ks *keySet, key []byte, at int, commit bool) (*schema, error) {
	twice := func() error {
		return s.strictf(at, "the key %q twice in one object: a JSON object's keys are unique (was the document edited or crafted?)", key)
	}
	if sc != nil && sc.kind == reflect.Struct {
		if idx, ok := sc.names[string(key)]; ok {
			if ks.fields&(1<<idx) != 0 {
				return nil, twice()
			}
			if commit {
				ks.fields |= 1 << idx
			}
			return sc.fields[idx], nil
		}
		if name, ok := sc.folded[foldKey(string(key))]; ok {
			return nil, s.strictf(at, "the key %q is not %q: keys are case-sensitive (a JSON parser takes them for different keys)", key, name)
		}
	}
	var elem *schema
	if sc != nil && sc.kind == reflect.Map {
		elem = sc.elem
	}
	if ks.big != nil {
		if ks.big[string(key)] {
			return nil, twice()
		}
		if commit {
			ks.big[string(key)] = true
		}
		return elem, nil
	}
	for _, k := range ks.small[:ks.n] {
		if string(k) == string(key) {
			return nil, twice()
		}
	}
	switch {
	case !commit:
	case ks.n < len(ks.small):
		if ks.own {
			key = append([]byte(nil), key...)
		}
		ks.small[ks.n] = key
		ks.n++
	default:
		ks.big = make(map[string]bool, 2*len(ks.small))
		for _, k := range ks.small {
			ks.big[string(k)] = true
		}
		ks.big[string(key)] = true
	}
	return elem, nil
}

// keyAt scans the key string at i and returns it unescaped (a slice of
// the input when it has no escapes) and where it ends.
func (s *scanner) keyAt(i int) ([]byte, int, error) {
	if s.b[i] != '"' {
		return nil, i, s.syntax(i)
	}
	end, escaped, err := s.str(i)
	if err != nil {
		return nil, end, err
	}
	if !escaped {
		return s.b[i+1 : end-1], end, nil
	}
	var k string
	if err := json.Unmarshal(s.b[i:end], &k); err != nil {
		return nil, end, s.syntax(i)
	}
	return []byte(k), end, nil
}

func (s *scanner) object(i int, sc *schema) (int, error) {
	if err := s.enter(i); err != nil {
		return i, err
	}
	defer func() { s.depth-- }()
	var ks keySet
	j := s.ws(i + 1)
	if j == len(s.b) {
		return j, errMore
	}
	if s.b[j] == '}' {
		return j + 1, nil
	}
	for {
		k, end, err := s.keyAt(j)
		if err != nil {
			return end, err
		}
		child, err := s.key(sc, &ks, k, j, true)
		if err != nil {
			return j, err
		}
		if j, err = s.colon(end); err != nil {
			return j, err
		}
		if j, err = s.value(j, child); err != nil {
			return j, err
		}
		var done bool
		if j, done, err = s.after(j, '}'); err != nil || done {
			return j, err
		}
		if j = s.ws(j); j == len(s.b) {
			return j, errMore
		}
	}
}

func (s *scanner) colon(i int) (int, error) {
	i = s.ws(i)
	if i == len(s.b) {
		return i, errMore
	}
	if s.b[i] != ':' {
		return i, s.syntax(i)
	}
	return i + 1, nil
}

// fmtBytes is a size for messages: "64 MiB", "1 KiB", "1500 bytes".
func fmtBytes(n int64) string {
	for _, u := range []struct {
		unit string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + " " + u.unit
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
