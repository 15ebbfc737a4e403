package app

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkMyCardsClinics measures what naming each card's clinic adds to
// GET /v1/me/cards for a patient with cards at 10 clinics: the wallet's
// list alone (the baseline), plus the one batch read of the clinics (what
// the handler does), and plus one clinic read per card (the N+1 the batch
// avoids).
func BenchmarkMyCardsClinics(b *testing.B) {
	t := &testing.T{}
	ta := newTestApp(t)
	ta.t = t
	pid, tok := ta.patient("+79990009999")
	for i := range 10 {
		cl := ta.clinicWithProgram(fmt.Sprintf("Clinic %d", i), fmt.Sprintf("c%d.test", i))
		ta.must(201, "POST", "/v1/me/cards", tok, map[string]string{"clinic_id": cl.id})
	}
	s := &server{Deps: ta.deps}
	ctx := context.Background()
	b.Run("wallet-only", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Wallet.MyCards(ctx, pid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("batch", func(b *testing.B) {
		for b.Loop() {
			cards, err := s.Wallet.MyCards(ctx, pid)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.myCardsOf(ctx, cards); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("per-card", func(b *testing.B) {
		for b.Loop() {
			cards, err := s.Wallet.MyCards(ctx, pid)
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range cards {
				if _, err := s.Identity.ClinicProfile(ctx, c.ClinicID); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
