package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	fws "github.com/fasthttp/websocket"

	"carewallet/push"
)

// TestWebsocketSlowConsumer, over real sockets: a client that stops
// reading while ~22 MB of events pile up is disconnected (its queue is
// bounded at 1 MiB), and another user's socket keeps receiving meanwhile.
func TestWebsocketSlowConsumer(t *testing.T) {
	if testing.Short() {
		t.Skip("publishes 22 MB")
	}
	ta := newTestApp(t)
	addr := ta.serve()
	slowID, slowTok := ta.patient("+79001110021")
	fastID, fastTok := ta.patient("+79001110022")
	slow := mustDialWS(t, addr, slowTok, "")
	fast := mustDialWS(t, addr, fastTok, "")
	ctx := context.Background()
	// The other user's app reads all along, as a live app does (reading
	// also answers the server's heartbeat pings, so a slow publish on a
	// busy machine cannot idle this socket out).
	fastMsgs := make(chan string, 16)
	fastErr := make(chan error, 1)
	go func() {
		for {
			_, msg, err := fast.ReadMessage()
			if err != nil {
				fastErr <- err
				return
			}
			fastMsgs <- string(msg)
		}
	}()

	pad := strings.Repeat("x", 15<<10)
	const n = 1500 // 22 MB: more than loopback's socket buffers (~10 MB) and the 1 MiB queue
	for i := range n {
		data, _ := json.Marshal(map[string]any{"i": i, "pad": pad})
		if _, err := ta.deps.Push.Publish(ctx, slowID, push.Draft{Type: "test.big", Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	// The other user is not held up by the stuck one.
	if _, err := ta.deps.Push.Publish(ctx, fastID, push.Draft{Type: "test.ping", Data: json.RawMessage(`{"ok":true}`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-fastMsgs:
		if !strings.Contains(msg, "test.ping") {
			t.Fatalf("the other user's socket got %s, want the ping", msg)
		}
	case err := <-fastErr:
		t.Fatalf("the other user's socket: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the other user's ping did not arrive within 30 s")
	}

	// The slow client now reads what reached it, then finds the server
	// hung up: with a 1008 close frame, or a closed connection when the
	// frame could not get through its full buffers. Never all 600.
	_ = slow.SetReadDeadline(time.Now().Add(60 * time.Second))
	got := 0
	for {
		_, _, err := slow.ReadMessage()
		if err == nil {
			got++
			continue
		}
		var ce *fws.CloseError
		var ne net.Error
		switch {
		case errors.As(err, &ce) && (ce.Code == fws.ClosePolicyViolation || ce.Code == fws.CloseAbnormalClosure):
			// 1008 with its reason, or 1006: the cut aborted a write mid-frame
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("still connected after %d of %d events: the slow consumer was never cut off", got, n)
		case errors.As(err, &ce):
			t.Fatalf("closed with %d, want %d (or a dropped connection)", ce.Code, fws.ClosePolicyViolation)
		}
		if got >= n {
			t.Fatalf("received all %d events: nothing was bounded", n)
		}
		t.Logf("slow client received %d of %d events before the server hung up (%v)", got, n, fmt.Sprint(err))
		return
	}
}
