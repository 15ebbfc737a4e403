// Package apicontract validates HTTP exchanges against carewallet's
// OpenAPI document with kin-openapi's openapi3filter. Tests use it so that
// a handler and its documentation cannot drift apart: every request they
// send and every response they get is checked (app's testApp.do, and the
// cmd/carewallet tests' HTTP helpers).
package apicontract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

func init() {
	// Binary and HTML answers (QR codes, images, pages) are not parsed.
	for _, ct := range []string{"image/png", "image/jpeg", "text/html"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// Contract is a loaded OpenAPI document that validates exchanges.
type Contract struct {
	Doc    *openapi3.T
	Router routers.Router
}

// Load parses and validates the document (GET /openapi.json's body).
func Load(body []byte) (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(body)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	// The document names a deployment's server; tests call whatever
	// host httptest makes up.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &Contract{Doc: doc, Router: router}, nil
}

// Options are the validator's options: security requirements are not
// checked (the API's own tests do), undocumented statuses are errors.
var Options = &openapi3filter.Options{
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	IncludeResponseStatus: true,
	MultiError:            true,
}

// Check validates one exchange: req (its body is reqBody) and the answer.
// raw skips the request (invalid on purpose); the answer is always
// checked. It returns what is wrong, or "" when the exchange is in the
// document. A documented path with an undocumented method must be a 405
// whose Allow lists the documented methods; any answer outside an
// operation must be the Error schema.
func (k *Contract) Check(req *http.Request, reqBody []byte, raw bool, status int, header http.Header, body []byte) string {
	ctx := context.Background()
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, pathParams, err := k.Router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		// A documented path with another method: 405, Allow naming the
		// path's documented methods, and the Error body.
		if status != 405 {
			return "a documented path with an undocumented method answered " + http.StatusText(status) + ", want 405"
		}
		if want, got := k.methods(req), allowHeader(header); !slices.Equal(want, got) {
			return "405 Allow lists " + strings.Join(got, ", ") + "; the document has " + strings.Join(want, ", ")
		}
		return k.checkError(body, header)
	case err != nil:
		if !raw {
			return "the request's path is not in the document (a test that sends a bad path on purpose skips request checks): " + err.Error()
		}
		// An unknown path: the answer is still an Error.
		return k.checkError(body, header)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route, Options: Options}
	if !raw {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return "request does not match the document (a test that sends invalid input on purpose skips request checks): " + err.Error()
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Options: Options}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return "response does not match the document: " + err.Error()
	}
	return ""
}

// methods are the documented methods of req's path.
func (k *Contract) methods(req *http.Request) []string {
	var out []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		probe := req.Clone(context.Background())
		probe.Method = m
		if _, _, err := k.Router.FindRoute(probe); err == nil {
			out = append(out, m)
		}
	}
	return out
}

func allowHeader(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Allow") {
		for _, m := range strings.Split(v, ",") {
			if m = strings.TrimSpace(m); m != "" {
				out = append(out, m)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return methodOrder(a) - methodOrder(b) })
	return out
}

func methodOrder(m string) int {
	return slices.Index([]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}, m)
}

// checkError validates an answer outside any operation against the
// document's Error schema.
func (k *Contract) checkError(body []byte, header http.Header) string {
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return "error answer with Content-Type " + ct
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "error answer is not JSON: " + err.Error()
	}
	if err := k.Doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		return "error answer does not match the Error schema: " + err.Error()
	}
	return ""
}
