package news

import (
	"context"
	"testing"

	"carewallet/app/storage/storagetest"
)

// TestErasePatient: the patient's texts are gone, the manager's stay; the
// poll's counts stay and no vote is the patient's any more.
func TestErasePatient(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		ctx := context.Background()
		e.aud.holders["c1"] = []string{"alice", "bob"}
		th, _, err := e.svc.StartChat(ctx, "alice", "c1", "my tooth hurts")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.ManagerReply(ctx, "c1", "m1", th.ID, "", Reply{Text: "come on Monday"}); err != nil {
			t.Fatal(err)
		}
		for i, who := range []string{"alice", "bob"} {
			if err := e.store.InsertVote(ctx, &Vote{PostID: "post-1", PatientID: who, Option: i, At: start}); err != nil {
				t.Fatal(err)
			}
		}
		before, err := e.store.VoteCounts(ctx, "post-1")
		if err != nil {
			t.Fatal(err)
		}
		if vs, err := e.svc.PatientVotes(ctx, "alice"); err != nil || len(vs) != 1 {
			t.Fatalf("alice's votes %v %v", vs, err)
		}
		for range 2 { // a retry changes nothing
			if err := e.svc.ErasePatient(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
		}
		after, err := e.store.VoteCounts(ctx, "post-1")
		if err != nil || len(after) != len(before) || after[0] != before[0] || after[1] != before[1] {
			t.Fatalf("counts %v, before %v (%v)", after, before, err)
		}
		if vs, err := e.svc.PatientVotes(ctx, "alice"); err != nil || len(vs) != 0 {
			t.Fatalf("alice still has votes %v %v", vs, err)
		}
		if vs, err := e.svc.PatientVotes(ctx, "bob"); err != nil || len(vs) != 1 {
			t.Fatalf("bob's vote %v %v", vs, err)
		}
		ms, err := e.store.Messages(ctx, th.ID, 0, 10)
		if err != nil || len(ms) != 2 || ms[0].Text != ErasedText || ms[1].Text != "come on Monday" {
			t.Fatalf("messages after erasure %+v %v", ms, err)
		}
	})
}
