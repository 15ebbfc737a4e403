package wallet

import (
	"context"
	"testing"

	"carewallet/app/storage/storagetest"
)

// TestProgramCacheSeesOtherInstances: an instance that has a program
// cached uses the new version as soon as another instance saves one.
func TestProgramCacheSeesOtherInstances(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		other := e.second(t)
		p := *DefaultProgram("cl_cache")
		p.CashbackBP = 300
		if _, err := e.svc.PutProgram(ctx, "cl_cache", "st_1", p); err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.Program(ctx, "cl_cache") // cached now
		if err != nil || got.CashbackBP != 300 || got.Version != 1 {
			t.Fatalf("first read: %+v %v", got, err)
		}
		got.CashbackBP = 1 // a caller's copy: must not reach the cache
		p.CashbackBP = 700
		if _, err := other.PutProgram(ctx, "cl_cache", "st_2", p); err != nil {
			t.Fatal(err)
		}
		got, err = e.svc.Program(ctx, "cl_cache")
		if err != nil || got.CashbackBP != 700 || got.Version != 2 {
			t.Fatalf("after another instance's change: %+v %v", got, err)
		}
		if again, _ := e.svc.Program(ctx, "cl_cache"); again.CashbackBP != 700 {
			t.Fatalf("cached copy was changed by a caller: %+v", again)
		}
	})
}
