package main

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"carewallet/app/identity"
)

func TestSignInSettings(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := identity.Limits{CodesPerClientHour: 10, CodesPerMinute: 20, CodesPerHour: 200, ChecksPerClientHour: 30,
		ChecksPerMinute: 120, CodePrefixes: []string{"+79"}}
	if !reflect.DeepEqual(c.SignIn, want) || c.ClientIPHeader != "" {
		t.Fatalf("defaults: %+v, header %q", c.SignIn, c.ClientIPHeader)
	}
	c, err = loadConfig(env(map[string]string{"CAREWALLET_SMS_PREFIXES": "+79, +7700", "CAREWALLET_SMS_PER_HOUR": "1000",
		"CAREWALLET_CLIENT_IP_HEADER": "X-Forwarded-For"}))
	if err != nil || !slices.Equal(c.SignIn.CodePrefixes, []string{"+79", "+7700"}) || c.SignIn.CodesPerHour != 1000 || c.ClientIPHeader != "X-Forwarded-For" {
		t.Fatalf("set: %+v, %q, %v", c.SignIn, c.ClientIPHeader, err)
	}
	for name, v := range map[string]string{
		"CAREWALLET_SMS_PREFIXES":                  "79",
		"CAREWALLET_SMS_PER_CLIENT_HOUR":           "0",
		"CAREWALLET_SMS_PER_MINUTE":                "many",
		"CAREWALLET_SMS_PER_HOUR":                  "-5",
		"CAREWALLET_SIGNIN_CHECKS_PER_CLIENT_HOUR": "1.5",
		"CAREWALLET_SIGNIN_CHECKS_PER_MINUTE":      "2000000",
		"CAREWALLET_CLIENT_IP_HEADER":              "X Forwarded",
	} {
		if _, err := loadConfig(env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: %v; want an error naming it", name, v, err)
		}
	}
}

func TestPublicURL(t *testing.T) {
	for vars, want := range map[string]string{"": "http://localhost:8080", "CAREWALLET_ADDR=127.0.0.1:9000": "http://localhost:9000",
		"CAREWALLET_PUBLIC_URL=https://wallet.example.com/": "https://wallet.example.com"} {
		m := map[string]string{}
		if k, v, ok := strings.Cut(vars, "="); ok {
			m[k] = v
		}
		c, err := loadConfig(env(m))
		if err != nil || c.PublicURL != want {
			t.Errorf("%s: %q %v, want %q", vars, c.PublicURL, err, want)
		}
	}
	for _, v := range []string{"wallet.example.com", "ftp://x", "https://x/?a=1", "https://"} {
		if _, err := loadConfig(env(map[string]string{"CAREWALLET_PUBLIC_URL": v})); err == nil || !strings.Contains(err.Error(), "CAREWALLET_PUBLIC_URL") {
			t.Errorf("%q: %v; want an error naming it", v, err)
		}
	}
}
