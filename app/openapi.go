package app

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// openAPI builds the OpenAPI 3 document from the route table. Schemas are
// derived from the Go request and response types by their json tags, so a
// field added to a type is documented by the same change.
func openAPI(routes []route) map[string]any {
	paths := map[string]map[string]any{}
	for _, r := range routes {
		item := paths[r.Path]
		if item == nil {
			item = map[string]any{}
			paths[r.Path] = item
		}
		item[strings.ToLower(r.Method)] = operation(r)
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":       "carewallet API",
			"version":     "1.0.0",
			"description": "Patient loyalty wallet for clinics. Errors are {\"error\":{\"code\",\"message\"}}; timestamps are RFC 3339 UTC; money is in minor units; points are whole numbers.",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
			},
			"schemas": map[string]any{"Error": schemaOf(reflect.TypeFor[errorBody]())},
		},
	}
}

func operation(r route) map[string]any {
	o := r.Op
	op := map[string]any{
		"summary":     o.Summary,
		"operationId": strings.ToLower(r.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(r.Path),
	}
	if o.Tag != "" {
		op["tags"] = []string{o.Tag}
	}
	if r.Access != public {
		op["security"] = []any{map[string]any{"bearer": []string{}}}
		op["x-access"] = accessName(r.Access)
	}
	var params []any
	for _, name := range pathParams(r.Path) {
		params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, q := range o.Query {
		t := q.Type
		if t == "" {
			t = "string"
		}
		params = append(params, map[string]any{"name": q.Name, "in": "query", "required": q.Required,
			"description": q.Description, "schema": map[string]any{"type": t}})
	}
	if o.Idempotent {
		params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "required": false,
			"description": "Replays with the same key return the first response; the same key with another body is 422.",
			"schema":      map[string]any{"type": "string", "maxLength": 200}})
	}
	if params != nil {
		op["parameters"] = params
	}
	if o.Req != nil {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(o.Req))}}}
	}
	status := o.Status
	if status == 0 {
		status = 200
	}
	ok := map[string]any{"description": "success"}
	switch {
	case o.Produces != "":
		ok["content"] = map[string]any{o.Produces: map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
	case o.Resp != nil:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(o.Resp))}}
	}
	errResp := map[string]any{"description": "error", "content": map[string]any{
		"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	op["responses"] = map[string]any{strconv.Itoa(status): ok, "default": errResp}
	return op
}

func accessName(a access) string {
	return [...]string{"public", "any signed-in user", "patient", "staff", "manager", "bearer token or ticket"}[a]
}

func pathParams(p string) []string {
	var out []string
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(p[i:], '}')
		out = append(out, p[i+1:i+j])
		p = p[i+j:]
	}
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// schemaOf returns the JSON schema of a Go type as encoding/json renders it.
func schemaOf(t reflect.Type) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case rawType:
		return map[string]any{"description": "any JSON value"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := schemaOf(t.Elem())
		s["nullable"] = true
		return s
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Interface:
		return map[string]any{"description": "any JSON value"}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		addStructFields(t, props, &required)
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}

func addStructFields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addStructFields(ft, props, required)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}
