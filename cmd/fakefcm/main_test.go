package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	env := map[string]string{"FAKEFCM_RATE_500": "1"}
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &out)
	}()
	var endpoint string
	for range 1000 {
		if line, _, ok := strings.Cut(out.String(), "\n"); ok {
			var rec struct{ Endpoint string }
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			endpoint = rec.Endpoint
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if endpoint == "" {
		t.Fatalf("no start log: %s", out.String())
	}
	resp, err := http.Post(endpoint+"/v1/projects/p/messages:send", "application/json", strings.NewReader(`{"message":{"token":"t"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("FAKEFCM_RATE_500=1: status %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunRejectsBadRates(t *testing.T) {
	err := run(context.Background(), []string{"-rate-429", "0.7", "-rate-500", "0.7"}, func(string) string { return "" }, &bytes.Buffer{})
	if err == nil {
		t.Fatal("rates over 1 accepted")
	}
}
