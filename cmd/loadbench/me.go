package main

import (
	"context"
	"fmt"
	"io"

	"github.com/valyala/fasthttp"
)

// benchMe measures GET /v1/me with a valid token (JWT check, session
// check, patient read from SQLite) beside the bare Fiber handler.
func benchMe(ctx context.Context, o options, out io.Writer) error {
	cw, _, sink, err := startCarewallet(o)
	if err != nil {
		return err
	}
	defer cw.stop()
	bare, err := startBare(o)
	if err != nil {
		return err
	}
	defer bare.stop()

	token, err := patientToken(cw.addr, sink, "+79990000001")
	if err != nil {
		return err
	}
	get := func(addr, token string) request {
		return func(_, _ int, req *fasthttp.Request) {
			req.SetRequestURI("http://" + addr + "/v1/me")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
		}
	}
	targets := map[string]request{
		"bare fiber GET /v1/me": get(bare.addr, ""),
		"carewallet GET /v1/me": get(cw.addr, token),
	}
	addrs := map[string]string{"bare fiber GET /v1/me": bare.addr, "carewallet GET /v1/me": cw.addr}
	compare(ctx, out, o, []string{"bare fiber GET /v1/me", "carewallet GET /v1/me"}, func(n string) result {
		return drive(ctx, addrs[n], o.conns, o.duration, targets[n], 200)
	})
	return nil
}

// patientToken signs a patient in through the API, reading the code from
// the SMS webhook sink.
func patientToken(addr string, sink *smsSink, phone string) (string, error) {
	if st, err := call(addr, "POST", "/v1/auth/otp", "", map[string]string{"phone": phone}, nil); err != nil || st != 202 {
		return "", fmt.Errorf("request code: %d %v", st, err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if st, err := call(addr, "POST", "/v1/auth/verify", "", map[string]string{"phone": phone, "code": sink.code(phone)}, &tok); err != nil || st != 200 {
		return "", fmt.Errorf("verify: %d %v", st, err)
	}
	return tok.AccessToken, nil
}
