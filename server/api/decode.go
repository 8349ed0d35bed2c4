package api

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
)

// The texts of decode's errors are made from what the server knows (the
// request type's field names, JSON's kinds, a byte offset), never from
// what the client sent: encoding/json's own texts quote an unknown field's
// name, a number that does not fit ("number 4242424242424242"), or the
// character that broke the syntax.

// syntaxProblem is a syntax error's text without the character it quotes:
// "invalid character looking for beginning of value".
func syntaxProblem(e *json.SyntaxError) string {
	msg := e.Error()
	const prefix = "invalid character "
	rest, ok := strings.CutPrefix(msg, prefix)
	if !ok {
		return "not valid JSON"
	}
	// The quoted character is one byte, escaped: 'x', '\'', '"', '\x01'.
	if i := strings.Index(rest[min(1, len(rest)):], "' "); strings.HasPrefix(rest, "'") && i >= 0 {
		return "invalid character " + rest[1+i+2:]
	}
	return "invalid character"
}

// typeProblem says which field has the wrong kind of value, naming the
// field only when it is one of v's (a map's key would be the client's).
func typeProblem(v any, e *json.UnmarshalTypeError) string {
	kind := "of another kind"
	if e.Type != nil {
		kind = kindName(e.Type)
	}
	got, _, _ := strings.Cut(e.Value, " ") // "number 4242...": the kind only
	switch got {
	case "string", "number", "array", "object", "bool":
	default:
		got = "value of another kind"
	}
	if e.Field == "" || !slices.Contains(jsonFields(reflect.TypeOf(v)), e.Field) {
		return "a field has the wrong kind of value: it must be " + kind + ", not a " + got
	}
	return `"` + e.Field + `" must be ` + kind + ", not a " + got
}

// kindName names a Go type as a JSON value: "a string", "a number".
func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	default:
		return "of another kind"
	}
}

// fieldList names v's JSON fields: `this request takes "name" and
// "password"`.
func fieldList(v any) string {
	f := jsonFields(reflect.TypeOf(v))
	switch len(f) {
	case 0:
		return "this request takes no fields"
	case 1:
		return `this request takes "` + f[0] + `"`
	}
	return `this request takes "` + strings.Join(f[:len(f)-1], `", "`) + `" and "` + f[len(f)-1] + `"`
}

// jsonFields returns the JSON names of t's exported fields (t a struct or
// a pointer to one), in order; nested structs' fields are not listed.
func jsonFields(t reflect.Type) []string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}
