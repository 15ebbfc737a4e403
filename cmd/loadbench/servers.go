package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// serveBare is the baseline: the same Fiber stack answering a fixed
// /v1/me-shaped body with no auth and no database.
func serveBare(ctx context.Context, addr string) error {
	f := fiber.New(fiber.Config{DisableStartupMessage: true})
	body := map[string]any{"id": "pt_bare", "phone": "+79990000000", "first_name": "", "last_name": "",
		"birth_date": "", "created_at": time.Now().UTC()}
	f.Get("/v1/me", func(c *fiber.Ctx) error { return c.JSON(body) })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Println("listening", ln.Addr().String())
	go func() { <-ctx.Done(); _ = f.Shutdown() }()
	return f.Listener(ln)
}

// proc is a server started by loadbench.
type proc struct {
	cmd  *exec.Cmd
	addr string
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

func pinned(cpu string, name string, args ...string) *exec.Cmd {
	if cpu == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("taskset", append([]string{"-c", cpu, name}, args...)...)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitHTTP(url string) error {
	for range 200 {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer", url)
}

// startBare starts this binary's bare-server on the server CPU.
func startBare(o options) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := pinned(o.serverCPU, self, "-addr", addr, "bare-server")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, addr: addr}
	if err := waitHTTP("http://" + addr + "/v1/me"); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// smsSink is the SMS webhook carewallet posts codes to during the run.
type smsSink struct {
	mu    sync.Mutex
	codes map[string]string
	url   string
	srv   *http.Server
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

func newSMSSink() (*smsSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &smsSink{codes: map[string]string{}, url: "http://" + ln.Addr().String() + "/sms"}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Phone, Text string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&m); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		s.mu.Lock()
		s.codes[m.Phone] = sixDigits.FindString(m.Text)
		s.mu.Unlock()
	})}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *smsSink) code(phone string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[phone]
}

// startCarewallet runs the real binary on a fresh data directory, with
// its SMS going to the returned sink, pinned to the server CPU.
func startCarewallet(o options) (*proc, string, *smsSink, error) {
	sink, err := newSMSSink()
	if err != nil {
		return nil, "", nil, err
	}
	cw, dir, err := startWithSink(o, sink)
	return cw, dir, sink, err
}

func startWithSink(o options, sink *smsSink) (*proc, string, error) {
	dir, err := os.MkdirTemp("", "loadbench-")
	if err != nil {
		return nil, "", err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	cmd := pinned(o.serverCPU, o.binary, "serve")
	cmd.Env = append(os.Environ(), "CAREWALLET_ADDR="+addr, "CAREWALLET_DATA="+dir,
		"CAREWALLET_SMS_WEBHOOK="+sink.url, "CAREWALLET_LOG_LEVEL=warn",
		// The fixtures sign thousands of patients in from this one address.
		"CAREWALLET_SMS_PER_CLIENT_HOUR=1000000", "CAREWALLET_SMS_PER_MINUTE=1000000", "CAREWALLET_SMS_PER_HOUR=1000000",
		"CAREWALLET_SIGNIN_CHECKS_PER_CLIENT_HOUR=1000000", "CAREWALLET_SIGNIN_CHECKS_PER_MINUTE=1000000")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	go func() { // keep the pipe drained; show only errors
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"level":"ERROR"`) {
				fmt.Fprintln(os.Stderr, "carewallet:", sc.Text())
			}
		}
	}()
	p := &proc{cmd: cmd, addr: addr}
	if err := waitHTTP("http://" + addr + "/healthz"); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, dir, nil
}

// clinicCreate runs `carewallet clinic create` on the data directory.
func clinicCreate(o options, dir, email, password string) (map[string]string, error) {
	cmd := exec.Command(o.binary, "clinic", "create", "--name", "Bench Clinic", "--timezone", "Europe/Moscow",
		"--manager-email", email, "--manager-password", password)
	cmd.Env = append(os.Environ(), "CAREWALLET_DATA="+dir, "CAREWALLET_LOG_LEVEL=error")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("clinic create: %w", err)
	}
	var ids map[string]string
	return ids, json.Unmarshal(out, &ids)
}
