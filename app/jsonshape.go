package app

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"carewallet/app/text"
)

// checkShape is the part of strict decoding that encoding/json does not
// do: it walks the body's tokens beside the target type and refuses
// duplicate keys (encoding/json lets the last win), keys that match a
// field only case-insensitively (encoding/json accepts CARD_ID for
// card_id), a null body, and bidirectional-override and isolate characters
// (U+202A–U+202E, U+2066–U+2069) in any key or string, which can make an
// id or a name read as something else. Syntax and type errors are left to
// the decoder, which reports them better.
func checkShape(body []byte, t reflect.Type) error {
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		return badRequest("request body must be a JSON object, not null")
	}
	w := shapeWalker{dec: json.NewDecoder(bytes.NewReader(body))}
	w.dec.UseNumber()
	return w.value(t, "")
}

type shapeWalker struct{ dec *json.Decoder }

func (w shapeWalker) value(t reflect.Type, path string) error {
	t = opaque(t)
	tok, err := w.dec.Token()
	if err != nil {
		return nil // the decoder reports malformed JSON
	}
	if err := checkKind(t, tok, path); err != nil {
		return err
	}
	switch d := tok.(type) {
	case json.Delim:
		switch d {
		case '{':
			return w.object(t, path)
		case '[':
			return w.array(t, path)
		}
	case string:
		return checkText(d, path)
	}
	return nil
}

func (w shapeWalker) object(t reflect.Type, path string) error {
	var fields map[string]reflect.Type
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		p := joinField(path, key)
		if err := checkText(key, p); err != nil {
			return err
		}
		if seen[key] {
			return fieldError(p, "duplicate key "+strconv.Quote(key))
		}
		seen[key] = true
		ft := elem
		if fields != nil {
			var ok bool
			if ft, ok = fields[key]; !ok {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return fieldError(p, "unknown field "+strconv.Quote(key)+" (field names are case-sensitive: "+strconv.Quote(name)+")")
					}
				}
				return fieldError(p, "unknown field "+strconv.Quote(key))
			}
		}
		if err := w.value(ft, p); err != nil {
			return err
		}
	}
	_, _ = w.dec.Token()
	return nil
}

func (w shapeWalker) array(t reflect.Type, path string) error {
	var elem reflect.Type
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		elem = t.Elem()
	}
	for i := 0; w.dec.More(); i++ {
		if err := w.value(elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	_, _ = w.dec.Token()
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// opaque strips pointers, and returns nil (walk without field checks) for
// types that decode themselves or hold anything.
func opaque(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	return t
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps a struct's JSON field names (as encoding/json names
// them, embedded structs flattened) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || len(f.Index) > 1 && !embeddedPath(t, f.Index) {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			continue // its fields are listed themselves
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}

// embeddedPath reports whether every step but the last of index goes
// through an untagged embedded struct (whose fields encoding/json lifts).
func embeddedPath(t reflect.Type, index []int) bool {
	for _, i := range index[:len(index)-1] {
		f := t.Field(i)
		if !f.Anonymous || f.Tag.Get("json") != "" {
			return false
		}
		t = f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
	}
	return true
}

// checkText refuses the characters that reorder how text is displayed.
func checkText(s, path string) error {
	if !utf8.ValidString(s) {
		return fieldError(path, "must be valid UTF-8")
	}
	for _, r := range s {
		if text.Bidi(r) {
			return fieldError(path, "must not contain bidirectional control characters (U+202A–U+202E, U+2066–U+2069)")
		}
	}
	return nil
}

// checkKind refuses a JSON value of the wrong kind for its target, naming
// the field in the walker's notation (lines[0].amount), which
// encoding/json's errors cannot (they drop array indices). null is left to
// the decoder (it leaves the zero value).
func checkKind(t reflect.Type, tok json.Token, path string) error {
	if t == nil || tok == nil {
		return nil
	}
	got := ""
	switch v := tok.(type) {
	case json.Delim:
		got = map[json.Delim]string{'{': "an object", '[': "an array"}[v]
	case string:
		got = "a string"
	case bool:
		got = "true or false"
	case json.Number:
		got = "a number"
		if isInt(t.Kind()) {
			if _, err := v.Int64(); err == nil || !strings.ContainsAny(string(v), ".eE") {
				got = "an integer"
			}
		}
	}
	want := jsonKind(t.Kind().String())
	if t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64 {
		if got == "a number" {
			return nil
		}
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && got == "a string" {
		return nil // []byte takes base64
	}
	if got == "" || got == want {
		return nil
	}
	if path == "" {
		return badRequest("request body must be " + want + ", not " + got)
	}
	return &apiError{Status: 400, Code: "invalid_input", Message: "field " + strconv.Quote(path) + " must be " + want + ", not " + got, Field: path}
}

func isInt(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func fieldError(field, msg string) error {
	return &apiError{Status: 400, Code: "invalid_input", Message: field + ": " + msg, Field: field}
}
