package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"carewallet/push"
)

// BenchmarkChatToManager measures how long a patient's chat message takes
// from the start of its POST /v1/chats/{id}/messages (over loopback HTTP)
// to the frame on a manager's websocket, at BENCH_CHAT_RATE messages/s
// (default 200) for BENCH_CHAT_SECONDS (default 5), from BENCH_CHAT_PATIENTS
// patients (default 100; each may send 30 a minute). The baseline in the
// same run is push.Publish of an event of the same size straight to the
// manager's inbox at the same rate. Reports p50 and p99 of both.
//
//	go test -run '^$' -bench ChatToManager -benchtime 1x ./app/
func BenchmarkChatToManager(b *testing.B) {
	rate := envInt("BENCH_CHAT_RATE", 200)
	secs := envInt("BENCH_CHAT_SECONDS", 5)
	np := envInt("BENCH_CHAT_PATIENTS", 100)
	t := &testing.T{}
	ta, _ := newsApp(t)
	ta.t = t
	ctx := context.Background()
	cl := ta.clinicWithProgram("Smile Dental", "smile.test")
	mgr, err := ta.deps.Identity.StaffByEmail(ctx, "boss@smile.test")
	if err != nil {
		b.Fatal(err)
	}
	type sender struct{ tok, thread string }
	senders := make([]sender, np)
	for i := range senders {
		_, tok, _ := ta.joinCard(cl, fmt.Sprintf("+7995%07d", i))
		var start chatStartResponse
		ta.must(201, "POST", "/v1/chats", tok, map[string]string{"clinic_id": cl.id, "text": "hello"}).decode(t, &start)
		senders[i] = sender{tok, start.Thread.ID}
	}
	addr := ta.serve()
	ws := mustDialWS(t, addr, cl.manager, "")

	var mu sync.Mutex
	sent := map[string]time.Time{}
	var lat []time.Duration
	got := make(chan struct{}, 1<<16)
	go func() {
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			now := time.Now()
			var ev struct {
				Data struct {
					Message struct {
						Text string `json:"text"`
					} `json:"message"`
				} `json:"data"`
			}
			_ = json.Unmarshal(msg, &ev)
			mu.Lock()
			if t0, ok := sent[ev.Data.Message.Text]; ok {
				lat = append(lat, now.Sub(t0))
				delete(sent, ev.Data.Message.Text)
				got <- struct{}{}
			}
			mu.Unlock()
		}
	}()
	// A fixed pool of kept-alive connections, opened before the clock
	// starts, as an app's clients would hold them: opening hundreds of
	// connections at once overflows the listen backlog and measures the
	// kernel's one-second SYN retry instead of the server.
	const workers = 64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}}
	var warm sync.WaitGroup
	for range workers {
		warm.Go(func() {
			if res, err := client.Get("http://" + addr + "/healthz"); err == nil {
				res.Body.Close()
			}
		})
	}
	warm.Wait()
	run := func(send func(i int, key string)) []time.Duration {
		mu.Lock()
		lat = nil
		mu.Unlock()
		total := rate * secs
		type job struct {
			i   int
			key string
		}
		jobs := make(chan job, total)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for j := range jobs {
					send(j.i, j.key)
				}
			})
		}
		tick := time.NewTicker(time.Second / time.Duration(rate))
		for i := range total {
			<-tick.C
			// The clock starts when the message is due, so time spent
			// waiting for a free connection counts.
			key := "bench:" + strconv.Itoa(i) + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
			mu.Lock()
			sent[key] = time.Now()
			mu.Unlock()
			jobs <- job{i, key}
		}
		tick.Stop()
		close(jobs)
		wg.Wait()
		for range total {
			select {
			case <-got:
			case <-time.After(30 * time.Second):
				b.Fatalf("a message never reached the manager's socket")
			}
		}
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lat)
	}
	b.ResetTimer()
	var chat, raw []time.Duration
	for range b.N {
		raw = append(raw, run(func(i int, key string) {
			data, _ := json.Marshal(map[string]any{"thread_id": "th_x", "message": map[string]any{"text": key, "seq": i}})
			if _, err := ta.deps.Push.Publish(ctx, mgr.ID, push.Draft{Type: "bench.raw", Data: data}); err != nil {
				b.Error(err)
			}
		})...)
		chat = append(chat, run(func(i int, key string) {
			s := senders[i%np]
			body, _ := json.Marshal(map[string]string{"text": key})
			req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chats/"+s.thread+"/messages", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+s.tok)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode != 201 {
				b.Errorf("send: %d", res.StatusCode)
			}
		})...)
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) float64 {
		slices.Sort(d)
		return float64(d[min(len(d)-1, int(float64(len(d))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(chat, 0.50), "chat-p50-ms")
	b.ReportMetric(pct(chat, 0.99), "chat-p99-ms")
	b.ReportMetric(pct(raw, 0.50), "raw-p50-ms")
	b.ReportMetric(pct(raw, 0.99), "raw-p99-ms")
}
