package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDemoNews: the demo leaves a post with a poll delivered to every
// cardholder, two votes, and a chat answered by the manager.
func TestDemoNews(t *testing.T) {
	vars := map[string]string{"CAREWALLET_DATA": t.TempDir()}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo"}, env(vars), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "news: post") {
		t.Fatalf("demo output:\n%s", out.String())
	}
	base, stop, _ := serveUntilCancel(t, vars)
	defer stop()
	_, body := postJSON(t, base+"/v1/staff/login", "", map[string]string{"email": demoManagerEmail, "password": demoManagerPassword})
	manager, _ := body["access_token"].(string)
	posts, _ := getJSON(t, base+"/v1/clinic/news", manager)["posts"].([]any)
	if len(posts) != 1 {
		t.Fatalf("demo posts: %v", posts)
	}
	post := posts[0].(map[string]any)
	if post["recipients"] != float64(len(demoPatients)) || post["sent"] != float64(len(demoPatients)) {
		t.Fatalf("demo post %v", post)
	}
	if res := getJSON(t, base+"/v1/clinic/news/"+post["id"].(string)+"/results", manager); res["total"] != float64(2) {
		t.Fatalf("demo poll %v", res)
	}
	if pol := getJSON(t, base+"/v1/clinic/message-policy", manager); pol["weekly_budget"] != float64(3) || pol["quiet_from"] != "21:00" {
		t.Fatalf("demo message policy %v", pol)
	}
	threads, _ := getJSON(t, base+"/v1/clinic/chats", manager)["threads"].([]any)
	// The question, the answer, and Anna's low visit rating (demo_care.go).
	if len(threads) != 1 || threads[0].(map[string]any)["last_seq"] != float64(3) {
		t.Fatalf("demo chats %v", threads)
	}
}
