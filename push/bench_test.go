package push

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
	"carewallet/push/pushtest"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFanOut publishes one alerting event to BENCH_USERS users
// (default 100,000), each with one device: the inbox writes (SQLite,
// batched) and the pushes through firebase-admin-go's SendEach to the FCM
// emulator on loopback. Each iteration is one whole fan-out; it reports
// messages per second end to end (Publish start to the last FCM answer)
// and CPU-seconds per 1,000 messages. With FAKEFCM_URL set it uses that
// emulator (a separate, pinned process) and the CPU figure is
// carewallet's alone; otherwise the emulator runs in-process and its CPU
// is included.
//
//	go test -run '^$' -bench FanOut -benchtime 1x ./push/
func BenchmarkFanOut(b *testing.B) {
	ctx := context.Background()
	n := envInt("BENCH_USERS", 100_000)
	db := storagetest.SQLite(b)
	store, err := NewSQLiteStore(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("pt_%07d", i)
	}
	// Devices go in directly: registering them is not what is measured.
	for start := 0; start < n; start += sqliteChunk {
		chunk := users[start:min(start+sqliteChunk, n)]
		args := make([]any, 0, len(chunk)*4)
		for _, u := range chunk {
			args = append(args, "tok-"+u, u, "sess", time.Now().UnixNano())
		}
		q := `INSERT INTO push_devices (token, user_id, session_id, platform, app_version, locale, updated_at) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, 'android', '1.0', 'ru', ?),", len(chunk)), ",")
		if _, err := db.Write.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
	}
	endpoint := os.Getenv("FAKEFCM_URL")
	var emu *pushtest.Server
	if endpoint == "" {
		emu, endpoint = startFakeFCM(b, pushtest.Config{MaxRecorded: -1})
	}
	sender, err := NewFCMSender(ctx, FCMConfig{Project: "bench", Endpoint: endpoint})
	if err != nil {
		b.Fatal(err)
	}
	svc := NewService(store, Options{Sender: sender, PushWorkers: envInt("BENCH_PUSH_WORKERS", 2)})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	var total, inbox, elapsed, cpu time.Duration
	b.ResetTimer()
	for i := range b.N {
		cpu0, t0 := cpuTime(), time.Now()
		draft := Draft{Key: fmt.Sprintf("news:%d", i), Type: "news.post",
			Data:  json.RawMessage(fmt.Sprintf(`{"post_id":"np_%d","title":"Clinic news"}`, i)),
			Alert: &Alert{Title: "Clinic news", Body: "A new post from your clinic"}}
		if err := svc.PublishMany(ctx, users, draft); err != nil {
			b.Fatal(err)
		}
		inbox += time.Since(t0)
		want := int64((i + 1) * n)
		for {
			st := svc.Stats()
			if st.Sent+st.Failed+st.Dropped >= want {
				break
			}
			time.Sleep(time.Millisecond)
		}
		elapsed += time.Since(t0)
		cpu += cpuTime() - cpu0
		total += time.Duration(n)
	}
	b.StopTimer()
	st := svc.Stats()
	if st.Sent != int64(b.N*n) {
		b.Fatalf("stats = %+v, want %d sent", st, b.N*n)
	}
	if emu != nil && emu.Stats().Delivered != int64(b.N*n) {
		b.Fatalf("emulator delivered %d", emu.Stats().Delivered)
	}
	msgs := float64(b.N * n)
	b.ReportMetric(msgs/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(cpu.Seconds()/msgs*1000, "cpu-s/1000msgs")
	b.ReportMetric(inbox.Seconds()/float64(b.N), "inbox-s/fanout")
	b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/fanout")
}
