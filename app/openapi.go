package app

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// openAPI builds the OpenAPI 3 document from the route table. Schemas are
// derived from the Go request and response types by their json tags, so a
// field added to a type is documented by the same change:
//
//   - every named struct type is a component schema referenced with $ref
//     (generated clients get named types); a type used in a request body
//     has its own component (named …Request, or the type's name + Input),
//     because what a client must send is not what the server answers;
//   - in a response, a field is required unless its tag says omitempty or
//     omitzero (encoding/json always writes it), and a pointer without
//     omitempty is nullable;
//   - in a request, a field is required only when its tag says
//     api:"required": the server refuses a body without it. Every other
//     field may be left out;
//   - objects have additionalProperties: false on both sides: the server
//     refuses unknown fields, and a response field the document does not
//     name is a drift the tests catch.
//
// An api:"enum=a|b" tag lists a string field's values.
func openAPI(routes []route) map[string]any {
	sc := &schemas{defs: map[string]any{}, names: map[schemaKey]string{}, owner: map[string]schemaKey{},
		base: map[reflect.Type]string{}, baseOwner: map[string]reflect.Type{}}
	paths := map[string]map[string]any{}
	usedTags := map[string]bool{}
	for _, r := range routes {
		item := paths[r.Path]
		if item == nil {
			item = map[string]any{}
			paths[r.Path] = item
		}
		item[strings.ToLower(r.Method)] = operation(r, sc)
		usedTags[r.Op.Tag] = true
	}
	sc.ref(reflect.TypeFor[errorBody](), false)
	var tags []any
	for _, t := range apiTags {
		if usedTags[t.name] {
			tags = append(tags, map[string]any{"name": t.name, "description": t.description})
			delete(usedTags, t.name)
		}
	}
	delete(usedTags, "")
	for _, name := range slices.Sorted(maps.Keys(usedTags)) { // a tag apiTags does not list yet
		tags = append(tags, map[string]any{"name": name, "description": "Operations tagged " + name})
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{
			"title":   "carewallet API",
			"version": "1.0.0",
			"description": "Patient loyalty wallet for clinics: clinics run a points program, patients hold cards in an app, reception " +
				"records receipts and bonus payments. JSON bodies with snake_case fields; timestamps are RFC 3339 UTC; money is " +
				"in minor units; points are whole numbers; phone numbers are E.164. Errors are " +
				"{\"error\":{\"code\",\"message\",\"field\"}} with the right status; a known path with another method is a 405 " +
				"with Allow. Lists page with opaque cursors. Requests that move points accept an Idempotency-Key header.",
			"contact": map[string]any{"name": "carewallet maintainers"},
		},
		"servers": []any{map[string]any{"url": "http://localhost:8080", "description": "a local instance (README); " +
			"the API is served at the root of whatever host runs it"}},
		"tags":  tags,
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "An access token from POST /v1/auth/verify (patients), POST /v1/staff/login (staff) or POST /v1/auth/refresh."},
			},
			"responses": map[string]any{
				"Error": map[string]any{
					"description": "An error: the status says its class, error.code what happened (stable), error.message says it " +
						"to a developer and error.field names the input at fault. 429 answers carry Retry-After.",
					"headers": map[string]any{
						"Retry-After": map[string]any{"description": "seconds to wait (429 only)", "schema": map[string]any{"type": "integer"}},
					},
					"content": map[string]any{"application/json": map[string]any{"schema": refTo("Error")}},
				},
			},
			"schemas": sc.defs,
		},
	}
}

// apiTags are the document's tags in the order clients list them.
var apiTags = []struct{ name, description string }{
	{"health", "Liveness and readiness probes"},
	{"meta", "The API's own description"},
	{"auth", "Patient and staff sign-in and sessions"},
	{"clinic", "The caller's clinic and its staff"},
	{"me", "The signed-in patient's profile"},
	{"rights", "The patient's rights: data export, deletion, guardians' consents, handing a card over at majority"},
	{"push", "Devices, the event inbox and the live websocket"},
	{"cards", "The patient's loyalty cards"},
	{"reception", "Reception: issuing cards, receipts, bonus payments and refunds"},
	{"program", "The clinic's loyalty program and manual adjustments"},
	{"reports", "Managers' reports, as JSON or CSV"},
	{"referrals", "Referral codes, referred friends and the clinic's referral program"},
	{"news", "Clinic news, polls and the patients' feed"},
	{"care", "Care scenarios: appointments from the clinic's system, service texts, reminders and other messages, visit ratings"},
}

func refTo(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func operation(r route, sc *schemas) map[string]any {
	o := r.Op
	op := map[string]any{
		"summary":     o.Summary,
		"description": description(r),
		"operationId": strings.ToLower(r.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(r.Path),
	}
	if o.Tag != "" {
		op["tags"] = []string{o.Tag}
	}
	if r.Access != public {
		op["security"] = []any{map[string]any{"bearer": []string{}}}
		op["x-access"] = accessName(r.Access)
	}
	if r.Access == ownAuth {
		// The handler takes a bearer token or a ?ticket=.
		op["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{}}
	}
	var params []any
	for _, name := range pathParams(r.Path) {
		params = append(params, map[string]any{"name": name, "in": "path", "required": true,
			"description": "the " + strings.ReplaceAll(name, "_", " "), "schema": map[string]any{"type": "string"}})
	}
	for _, q := range o.Query {
		t := q.Type
		if t == "" {
			t = "string"
		}
		s := map[string]any{"type": t}
		if q.Name == "format" && q.Enum == nil {
			q.Enum = []string{"json", "csv"}
		}
		if len(q.Enum) > 0 {
			s["enum"] = q.Enum
		}
		params = append(params, map[string]any{"name": q.Name, "in": "query", "required": q.Required,
			"description": q.Description, "schema": s})
	}
	if o.Idempotent {
		params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "required": false,
			"description": "Replays with the same key return the first response; the same key with another body is 422.",
			"schema":      map[string]any{"type": "string", "maxLength": 200}})
	}
	if params != nil {
		op["parameters"] = params
	}
	if o.Consumes != "" {
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
			o.Consumes: map[string]any{"schema": map[string]any{"type": "string"}}}}
	}
	if o.Req != nil {
		op["requestBody"] = map[string]any{"required": !o.BodyOptional, "content": map[string]any{
			"application/json": map[string]any{"schema": sc.ref(reflect.TypeOf(o.Req), true)}}}
	}
	status := o.Status
	if status == 0 {
		status = 200
	}
	ok := map[string]any{"description": o.RespDescription}
	if ok["description"] == "" {
		ok["description"] = "success"
	}
	content := map[string]any{}
	switch {
	case o.Produces != "":
		content[o.Produces] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
	case o.Resp != nil:
		content["application/json"] = map[string]any{"schema": sc.ref(reflect.TypeOf(o.Resp), false)}
	}
	// A ?format= report answers CSV too.
	if o.CSV || slices.ContainsFunc(o.Query, func(q param) bool { return q.Name == "format" }) {
		content["text/csv"] = map[string]any{"schema": map[string]any{"type": "string",
			"description": "RFC 4180 CSV, every cell quoted, the first row the column names (with ?format=csv)"}}
	}
	if len(content) > 0 {
		ok["content"] = content
	}
	if len(o.RespHeaders) > 0 {
		h := map[string]any{}
		for _, hd := range o.RespHeaders {
			h[hd.Name] = map[string]any{"description": hd.Description, "schema": map[string]any{"type": "string"}}
		}
		ok["headers"] = h
	}
	responses := map[string]any{strconv.Itoa(status): ok, "default": map[string]any{"$ref": "#/components/responses/Error"}}
	op["responses"] = responses
	return op
}

// description is the operation's longer text: its summary, who may call
// it, and what retries do.
func description(r route) string {
	d := r.Op.Summary + "."
	if r.Op.Description != "" {
		d += " " + r.Op.Description
	}
	d += " Caller: " + accessName(r.Access) + "."
	if r.Op.Idempotent {
		d += " Send an Idempotency-Key to make a retry safe: a replay returns the first response."
	}
	return d
}

func accessName(a access) string {
	return [...]string{"anyone (no token)", "any signed-in user (patient or staff)", "a signed-in patient",
		"staff of the clinic (admin or manager)", "a manager of the clinic", "a bearer token or a ticket"}[a]
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

// schemaNames names the components whose Go names would say less.
var schemaNames = map[reflect.Type]string{
	reflect.TypeFor[errorBody]():   "Error",
	reflect.TypeFor[errorDetail](): "ErrorDetail",
}

// schemas collects the component schemas of the document.
type schemas struct {
	defs      map[string]any
	names     map[schemaKey]string
	owner     map[string]schemaKey
	base      map[reflect.Type]string
	baseOwner map[string]reflect.Type
}

// schemaKey is a type in one direction: request (what clients send) or
// response (what the server writes).
type schemaKey struct {
	t   reflect.Type
	req bool
}

// name is the component name of a named struct type: the Go name with a
// capital (the package's name in front when another package's type has
// the same name), and for the request side …Input unless the name already
// ends in Request.
func (sc *schemas) name(k schemaKey) string {
	if n, ok := sc.names[k]; ok {
		return n
	}
	base, ok := sc.base[k.t]
	if !ok {
		base = capitalize(k.t.Name())
		if fixed, ok := schemaNames[k.t]; ok {
			base = fixed
		}
		if other, taken := sc.baseOwner[base]; taken && other != k.t {
			pkg := k.t.PkgPath()
			base = capitalize(pkg[strings.LastIndexByte(pkg, '/')+1:]) + base
		}
		sc.base[k.t] = base
		sc.baseOwner[base] = k.t
	}
	n := base
	if k.req && !strings.HasSuffix(n, "Request") {
		n += "Input"
	}
	for i := 2; ; i++ { // a Go type literally named like another's component
		if prev, taken := sc.owner[n]; !taken || prev == k {
			break
		}
		n = base + strconv.Itoa(i)
	}
	sc.names[k] = n
	sc.owner[n] = k
	return n
}

func capitalize(s string) string {
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// ref returns the schema of t: a $ref for named struct types (adding the
// component the first time), inline otherwise.
func (sc *schemas) ref(t reflect.Type, req bool) map[string]any {
	if t.Kind() == reflect.Struct && t.Name() != "" && t != timeType {
		k := schemaKey{t, req}
		_, seen := sc.names[k]
		n := sc.name(k)
		if !seen {
			sc.defs[n] = map[string]any{} // placeholder: recursive types end here
			sc.defs[n] = sc.structSchema(t, req)
		}
		return refTo(n)
	}
	return sc.schemaOf(t, req)
}

// schemaOf returns the JSON schema of a Go type as encoding/json renders it.
func (sc *schemas) schemaOf(t reflect.Type, req bool) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case rawType:
		return map[string]any{"description": "any JSON value", "nullable": true}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := sc.ref(t.Elem(), req)
		if _, isRef := s["$ref"]; isRef {
			return map[string]any{"allOf": []any{s}, "nullable": true}
		}
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
		return map[string]any{"type": "array", "items": sc.ref(t.Elem(), req)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": sc.ref(t.Elem(), req)}
	case reflect.Interface:
		return map[string]any{"description": "any JSON value", "nullable": true}
	case reflect.Struct:
		return sc.structSchema(t, req)
	}
	return map[string]any{}
}

func (sc *schemas) structSchema(t reflect.Type, req bool) map[string]any {
	props := map[string]any{}
	var required []string
	sc.addStructFields(t, req, props, &required)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		s["required"] = required
	}
	return s
}

func (sc *schemas) addStructFields(t reflect.Type, req bool, props map[string]any, required *[]string) {
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
				sc.addStructFields(ft, req, props, required)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		s := sc.ref(f.Type, req)
		api := f.Tag.Get("api")
		for _, a := range strings.Split(api, ",") {
			if vals, ok := strings.CutPrefix(a, "enum="); ok {
				s["enum"] = strings.Split(vals, "|")
			}
			if p, ok := strings.CutPrefix(a, "pattern="); ok { // no commas in it
				s["pattern"] = p
			}
		}
		props[name] = s
		omitted := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		if req && hasOpt(api, "required") || !req && !omitted {
			*required = append(*required, name)
		}
	}
}

func hasOpt(tag, opt string) bool {
	for _, a := range strings.Split(tag, ",") {
		if a == opt {
			return true
		}
	}
	return false
}
