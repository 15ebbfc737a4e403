package app

import (
	"strings"

	"github.com/gofiber/fiber/v2"
)

// access says who may call a route.
type access int

const (
	public      access = iota // no token
	anyUser                   // a patient or a staff member
	patientOnly               // a signed-in patient
	staffOnly                 // any staff member (admin or manager)
	managerOnly               // a manager
	ownAuth                   // the handler authenticates (bearer or ticket): no middleware
)

// op documents a route for the OpenAPI document.
type op struct {
	Tag     string
	Summary string
	Req     any     // zero value of the JSON request body type, or nil
	Resp    any     // zero value of the JSON response body type, or nil
	Status  int     // success status; 200 when 0
	Query   []param // query parameters
	// Idempotent routes accept an Idempotency-Key header.
	Idempotent bool
	// Produces is the response media type when it is not JSON (image/png).
	Produces string
	// CSV: ?format=csv answers text/csv instead of Resp's JSON (implied by
	// a query parameter named format).
	CSV bool
	// Consumes is the request media type when it is not JSON (text/csv):
	// the body is a string of that type.
	Consumes string
	// BodyOptional: the request body (Req) may be left out.
	BodyOptional bool
	// Description adds to the summary in the operation's description.
	Description string
	// RespDescription describes the success response ("success" if empty).
	RespDescription string
	// RespHeaders are headers of the success response.
	RespHeaders []param
}

// param is a query parameter.
type param struct {
	Name, Type, Description string
	Required                bool
	Enum                    []string
}

type route struct {
	Method, Path string // Path in OpenAPI form: /v1/cards/{id}
	Access       access
	Op           op
}

type router struct {
	f      *fiber.App
	s      *server
	routes []route
}

// add registers a route. path uses OpenAPI's {name} for parameters; it is
// turned into Fiber's :name.
func (r *router) add(method, path string, a access, h fiber.Handler, o op) {
	handlers := []fiber.Handler{}
	if mw := r.s.authenticate(a); mw != nil {
		handlers = append(handlers, mw)
	}
	if o.Idempotent {
		handlers = append(handlers, r.s.replayable)
	}
	handlers = append(handlers, h)
	r.f.Add(method, fiberPath(path), handlers...)
	r.routes = append(r.routes, route{Method: method, Path: path, Access: a, Op: o})
}

func fiberPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '{':
			b.WriteByte(':')
		case '}':
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}
