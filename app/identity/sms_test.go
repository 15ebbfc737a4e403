package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"carewallet/app/identity"
	"carewallet/app/storage/storagetest"
)

func TestWebhookSMS(t *testing.T) {
	var got struct{ Phone, Text string }
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with %q", r.Method, r.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	ctx := context.Background()
	store, err := identity.NewSQLiteStore(ctx, storagetest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	svc := identity.NewService(store, identity.Options{SMS: identity.WebhookSMS{URL: srv.URL}, CodeKey: []byte("k"), BcryptCost: 4})
	if err := svc.RequestCode(ctx, "192.0.2.1", "+79990001111"); err != nil {
		t.Fatal(err)
	}
	if got.Phone != "+79990001111" || !regexp.MustCompile(`\b\d{6}\b`).MatchString(got.Text) {
		t.Fatalf("webhook got %+v", got)
	}
	status = http.StatusBadGateway
	if err := svc.RequestCode(ctx, "192.0.2.1", "+79990002222"); !errors.Is(err, identity.ErrSMSUnavailable) {
		t.Fatalf("gateway 502: %v; want ErrSMSUnavailable", err)
	}
}

func TestMaskPhone(t *testing.T) {
	if m := identity.MaskPhone("+79991234567"); m != "+7******67" {
		t.Fatalf("MaskPhone = %q", m)
	}
}
