package referrals

import (
	"context"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

func TestErasePatientDevices(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		ctx := context.Background()
		s := openStore(t, b)
		t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		for _, l := range []*Link{{ID: "l1", ClinicID: "c1", RefereeID: "p2", ReferrerID: "p1", Created: t0},
			{ID: "l2", ClinicID: "c1", RefereeID: "p3", ReferrerID: "p2", Created: t0.Add(1)},
			{ID: "l3", ClinicID: "c1", RefereeID: "p4", ReferrerID: "p3", Created: t0.Add(2)}} {
			if err := s.InsertLink(ctx, l); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []string{"p1", "p2"} {
			if err := s.InsertDevice(ctx, "dev-shared", p, t0); err != nil {
				t.Fatal(err)
			}
		}
		e := s.(Eraser)
		ls, err := e.PatientLinks(ctx, "p2")
		if err != nil || len(ls) != 2 || ls[0].ID != "l1" || ls[1].ID != "l2" {
			t.Fatalf("p2's links %+v %v", ls, err)
		}
		if err := e.DeletePatientDevices(ctx, "p2"); err != nil {
			t.Fatal(err)
		}
		users, err := s.DeviceUsers(ctx, "p1")
		if err != nil || len(users) != 1 || users[0] != "p1" {
			t.Fatalf("device users of p1 after p2's erasure: %v %v", users, err)
		}
	})
}
