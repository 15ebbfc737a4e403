package wallet

import (
	"bytes"
	"testing"
	"time"
)

// TestCodeHashNeedsTheKey: a stored code hash is an HMAC under the
// server's key, so the same code under another key (a copy of the
// database without the secret) does not match, and every bound field
// changes it.
func TestCodeHashNeedsTheKey(t *testing.T) {
	a := NewService(nil, nil, nil, Options{CodeKey: []byte("key-a")})
	b := NewService(nil, nil, nil, Options{CodeKey: []byte("key-b")})
	ch := &Challenge{ID: "ch_1", Purpose: "spend", SubjectID: "sp_1", CardID: "cd_1", Points: 400, ExpiresAt: time.Now()}
	h := a.codeHash(ch, "123456")
	if h == b.codeHash(ch, "123456") {
		t.Fatal("the hash does not depend on the key")
	}
	if h != a.codeHash(ch, "123456") {
		t.Fatal("the hash is not deterministic")
	}
	for _, change := range []func(c *Challenge){
		func(c *Challenge) { c.Points = 401 },
		func(c *Challenge) { c.CardID = "cd_2" },
		func(c *Challenge) { c.SubjectID = "sp_2" },
		func(c *Challenge) { c.Purpose = "card" },
	} {
		c := *ch
		change(&c)
		if a.codeHash(&c, "123456") == h {
			t.Fatalf("the hash ignores a bound field: %+v", c)
		}
	}
	r1 := NewService(nil, nil, nil, Options{})
	r2 := NewService(nil, nil, nil, Options{})
	if bytes.Equal(r1.codeKey, r2.codeKey) || len(r1.codeKey) != 32 {
		t.Fatal("default keys are not random")
	}
}
