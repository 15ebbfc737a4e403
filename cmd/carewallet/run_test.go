package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"carewallet/app"
	"carewallet/app/apicontract"
	"carewallet/app/storage/storagetest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad addr", map[string]string{"CAREWALLET_ADDR": "8080"}, "CAREWALLET_ADDR"},
		{"mongo without key", map[string]string{"CAREWALLET_MONGO_URI": "mongodb://127.0.0.1:1"}, "CAREWALLET_JWT_KEY_FILE is required"},
		{"bad mongo uri", map[string]string{"CAREWALLET_MONGO_URI": "postgres://x", "CAREWALLET_JWT_KEY_FILE": "/k"}, "mongodb://"},
		{"bad webhook", map[string]string{"CAREWALLET_SMS_WEBHOOK": "ftp://x"}, "CAREWALLET_SMS_WEBHOOK"},
		{"bad log level", map[string]string{"CAREWALLET_LOG_LEVEL": "loud"}, "CAREWALLET_LOG_LEVEL"},
	}
	for _, tc := range cases {
		err := run(context.Background(), []string{"serve"}, env(tc.env), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v; want it to mention %q", tc.name, err, tc.want)
		}
	}
	if err := run(context.Background(), []string{"frobnicate"}, env(nil), &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Error("unknown command accepted")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func postJSON(t *testing.T, url, token string, body any) (*http.Response, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, resBody := exchange(t, req, b)
	var out map[string]any
	_ = json.Unmarshal(resBody, &out)
	return res, out
}

var (
	contractOnce sync.Once
	contract     *apicontract.Contract
	contractErr  error
)

// exchange sends req (whose body is reqBody) and validates the request and
// the answer against the OpenAPI document (app/apicontract), as the app
// tests do: a drift between the API and its document fails the test.
func exchange(t *testing.T, req *http.Request, reqBody []byte) (*http.Response, []byte) {
	t.Helper()
	contractOnce.Do(func() {
		doc, err := app.OpenAPIDocument()
		if err != nil {
			contractErr = err
			return
		}
		contract, contractErr = apicontract.Load(doc)
	})
	if contractErr != nil {
		t.Fatalf("OpenAPI document: %v", contractErr)
	}
	check := req.Clone(req.Context())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if msg := contract.Check(check, reqBody, false, res.StatusCode, res.Header, body); msg != "" {
		t.Errorf("OpenAPI contract: %s %s → %d %s\n%s", req.Method, req.URL.Path, res.StatusCode, body, msg)
	}
	return res, body
}

// getJSON GETs url with a bearer token and decodes the JSON object.
func getJSON(t *testing.T, url, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	_, body := exchange(t, req, nil)
	var v map[string]any
	_ = json.Unmarshal(body, &v)
	return v
}

// serveUntilCancel runs `carewallet serve` and waits for /healthz.
func serveUntilCancel(t *testing.T, vars map[string]string) (base string, stop func() error, logs *bytes.Buffer) {
	t.Helper()
	addr := freeAddr(t)
	vars["CAREWALLET_ADDR"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	logs = &bytes.Buffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, env(vars), &bytes.Buffer{}, logs) }()
	base = "http://" + addr
	for i := 0; ; i++ {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if i > 200 {
			t.Fatal("server did not start")
		}
	}
	return base, func() error { cancel(); return <-done }, logs
}

func TestClinicCreateThenServe(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"CAREWALLET_DATA": dir}
	var out bytes.Buffer
	err := run(context.Background(), []string{"clinic", "create", "--name", "Smile Dental", "--timezone", "Europe/Moscow",
		"--manager-email", "a@smile.test", "--manager-password", "manager-password"}, env(vars), &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var ids map[string]string
	if err := json.Unmarshal(out.Bytes(), &ids); err != nil || !strings.HasPrefix(ids["clinic_id"], "cl_") || !strings.HasPrefix(ids["staff_id"], "st_") {
		t.Fatalf("clinic create printed %q (%v)", out.String(), err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "jwt.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("generated JWT key: %v %v", fi, err)
	}
	err = run(context.Background(), []string{"clinic", "create", "--name", "X", "--timezone", "Nowhere/City",
		"--manager-email", "b@smile.test", "--manager-password", "manager-password"}, env(vars), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "timezone") {
		t.Fatalf("bad time zone: %v", err)
	}

	base, stop, logs := serveUntilCancel(t, vars)
	res, body := postJSON(t, base+"/v1/staff/login", "", map[string]string{"email": "a@smile.test", "password": "manager-password"})
	if res.StatusCode != 200 || body["access_token"] == nil {
		t.Fatalf("login: %d %v", res.StatusCode, body)
	}
	// A patient signs in; with the log SMS driver the code is in the log.
	res, _ = postJSON(t, base+"/v1/auth/otp", "", map[string]string{"phone": "+79991112233"})
	if res.StatusCode != 202 {
		t.Fatalf("otp: %d", res.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if strings.Contains(logs.String(), "+79991112233") {
		t.Fatal("the log holds a full phone number")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no orderly stop in the log:\n%s", logs)
	}
	// The data survives a restart with the same key.
	base, stop, _ = serveUntilCancel(t, vars)
	res, _ = postJSON(t, base+"/v1/staff/login", "", map[string]string{"email": "a@smile.test", "password": "manager-password"})
	if res.StatusCode != 200 {
		t.Fatalf("login after restart: %d", res.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestDemo(t *testing.T) {
	// A data directory whose path needs quoting, given relative to the
	// working directory as README's walk-through does.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, filepath.Join(t.TempDir(), "demo data's"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"CAREWALLET_DATA": rel}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo"}, env(vars), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	demoOut := out.String()
	if !strings.Contains(out.String(), demoManagerEmail) || !strings.Contains(out.String(), demoAdminPassword) {
		t.Fatalf("demo output lacks sign-in details:\n%s", out.String())
	}
	// It prints the exact command that serves its data: the data
	// directory as an absolute path, shell-quoted.
	abs, _ := filepath.Abs(rel)
	want := "CAREWALLET_DATA='" + strings.ReplaceAll(abs, "'", `'\''`) + "' go run ./cmd/carewallet"
	if !strings.Contains(out.String(), "\n  "+want+"\n") {
		t.Fatalf("demo does not print %q:\n%s", want, out.String())
	}
	vars["CAREWALLET_DATA"] = abs // what the printed command sets
	out.Reset()
	if err := run(context.Background(), []string{"demo"}, env(map[string]string{"CAREWALLET_DATA": t.TempDir(), "CAREWALLET_ADDR": "127.0.0.1:8181"}), &out, io.Discard); err != nil ||
		!strings.Contains(out.String(), " CAREWALLET_ADDR=127.0.0.1:8181 go run ./cmd/carewallet\n") ||
		!strings.Contains(out.String(), "open the clinic console at http://127.0.0.1:8181/console/ ") {
		t.Fatalf("demo with CAREWALLET_ADDR: %v\n%s", err, out.String())
	}
	if err := run(context.Background(), []string{"demo"}, env(vars), &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
		t.Fatal("demo ran twice on the same data")
	}
	var rep bytes.Buffer
	if err := run(context.Background(), []string{"burn"}, env(vars), &rep, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.String(), `"lots":0`) {
		t.Fatalf("burn on fresh demo data: %s", rep.String())
	}
	base, stop, _ := serveUntilCancel(t, vars)
	defer stop()
	var manager string
	for _, cred := range [][2]string{{demoManagerEmail, demoManagerPassword}, {demoAdminEmail, demoAdminPassword}} {
		res, body := postJSON(t, base+"/v1/staff/login", "", map[string]string{"email": cred[0], "password": cred[1]})
		if res.StatusCode != 200 {
			t.Fatalf("demo login %s: %d", cred[0], res.StatusCode)
		}
		if cred[0] == demoManagerEmail {
			manager, _ = body["access_token"].(string)
		}
	}
	// Three patients with 500 welcome + 500 cashback; Dmitry's 500 welcome;
	// 300 referee bonus to Boris, Vera and Dmitry; rewards of Boris's and
	// Vera's first visits: 800 to Anna, then 800 to Boris and 200 to Anna;
	// the chat's 200-point bonus; Boris's online booking bonus (100); and
	// the 500 points of Elena's unconfirmed card, also shown apart; the
	// welcome 500 of Sonya's card, which Anna guards.
	tot := getJSON(t, base+"/v1/clinic/reports/totals", manager)
	if tot["outstanding"] != float64(3*1000+500+3*300+800+800+200+200+100+500+500) {
		t.Fatalf("demo totals: %v", tot)
	}
	if u, _ := tot["unconfirmed"].(map[string]any); u["cards"] != float64(1) || u["points"] != float64(500) {
		t.Fatalf("demo unconfirmed cards: %v", tot)
	}
	if rep := getJSON(t, base+"/v1/clinic/reports/referrals", manager); len(rep["depths"].([]any)) != 4 {
		t.Fatalf("demo referral tree: %v", rep)
	}
	// The dependant's card it prints holds its guardian's consent.
	m := regexp.MustCompile(`Sonya's card \(card_id (\S+)\)`).FindStringSubmatch(demoOut)
	if m == nil {
		t.Fatalf("demo prints no dependant's card:\n%s", demoOut)
	}
	cs := getJSON(t, base+"/v1/clinic/cards/"+m[1]+"/consents", manager)
	if list, _ := cs["consents"].([]any); len(list) != 1 || cs["text_version"] == "" {
		t.Fatalf("the demo dependant's consents: %v", cs)
	}
}

func TestServeOnMongo(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "jwt.key")
	if err := os.WriteFile(keyFile, []byte("a-shared-key-for-every-instance-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := storagetest.Mongo(t)
	vars := map[string]string{
		"CAREWALLET_MONGO_URI":    storagetest.MongoURI(t),
		"CAREWALLET_MONGO_DB":     db.Name(),
		"CAREWALLET_JWT_KEY_FILE": keyFile,
		"CAREWALLET_DATA":         t.TempDir(),
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"clinic", "create", "--name", "Mongo Clinic", "--timezone", "Asia/Yekaterinburg",
		"--manager-email", "m@mongo.test", "--manager-password", "manager-password"}, env(vars), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	// Two instances share the database and the key: a token from one works on the other.
	base1, stop1, _ := serveUntilCancel(t, vars)
	defer stop1()
	base2, stop2, _ := serveUntilCancel(t, vars)
	defer stop2()
	_, body := postJSON(t, base1+"/v1/staff/login", "", map[string]string{"email": "m@mongo.test", "password": "manager-password"})
	tok, _ := body["access_token"].(string)
	req, _ := http.NewRequest("GET", base2+"/v1/clinic", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("token from instance 1 on instance 2: %d", res.StatusCode)
	}
	res, err = http.Get(base2 + "/readyz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz on mongo: %v %v", res, err)
	}
}

// TestShutdownDrainsInFlight: a request still running when SIGTERM comes
// (here: waiting on a slow SMS gateway) completes before serve returns.
func TestShutdownDrainsInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}))
	defer gw.Close()
	vars := map[string]string{"CAREWALLET_DATA": t.TempDir(), "CAREWALLET_SMS_WEBHOOK": gw.URL}
	base, stop, _ := serveUntilCancel(t, vars)
	status := make(chan int, 1)
	go func() {
		res, _ := postJSON(t, base+"/v1/auth/otp", "", map[string]string{"phone": "+79995556677"})
		status <- res.StatusCode
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("serve returned with a request in flight: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if st := <-status; st != 202 {
		t.Fatalf("in-flight request: %d, want 202", st)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}
