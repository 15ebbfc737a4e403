package wallet

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"carewallet/app/storage/storagetest"
)

// TestSpendCodeLimit: wrong codes are counted per card across all its
// spends, on both stores: the SpendCodeMax-th locks the card's
// spends (nothing more is checked, the right code neither) until the hour
// ends, and the patient is told once.
func TestSpendCodeLimit(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		card := e.joined(t, "pt_1", "cl_1").ID
		spend := func(receipt string) (string, string) {
			sp := must[*SpendResult](t)(e.svc.CreateSpend(ctx, SpendRequest{ClinicID: "cl_1", CardID: card, ReceiptID: receipt,
				Lines: []Line{{Service: "CONS-01", Amount: 100000}}, Points: 10}))
			return sp.SpendID, e.notes.spendCode(t, "pt_1", sp.SpendID)
		}
		rightID, rightCode := spend("G9") // awaiting its code while the guessing goes on
		var wrongs, locked int
		type open struct{ id, code string }
		var spends []open
		for i := range 3 {
			id, code := spend(fmt.Sprintf("G%d", i))
			spends = append(spends, open{id, code})
		}
		for _, sp := range spends {
			id, code := sp.id, sp.code
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			for range 10 {
				_, err := e.svc.ConfirmSpend(ctx, "cl_1", id, wrong)
				switch {
				case errors.Is(err, ErrInvalidCode):
					wrongs++
				case errors.Is(err, ErrTooManyAttempts):
					locked++
				default:
					t.Fatalf("wrong code: %v", err)
				}
			}
		}
		if wrongs != SpendCodeMax-1 || locked != 30-wrongs {
			t.Fatalf("%d wrong codes answered, %d refused; want %d answered", wrongs, locked, SpendCodeMax-1)
		}
		if _, err := e.svc.CreateSpend(ctx, SpendRequest{ClinicID: "cl_1", CardID: card, ReceiptID: "G8",
			Lines: []Line{{Service: "CONS-01", Amount: 100000}}, Points: 10}); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("a new spend on a locked card: %v", err)
		}
		var wg sync.WaitGroup
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.svc.ConfirmSpend(ctx, "cl_1", rightID, rightCode); !errors.Is(err, ErrTooManyAttempts) {
					t.Errorf("right code on a locked card: %v", err)
				}
			}()
		}
		wg.Wait()
		locks := 0
		for _, n := range e.notes.all("pt_1") {
			if n.Type == NoteSpendLocked {
				locks++
			}
		}
		if locks != 1 {
			t.Fatalf("%d lock notices, want 1", locks)
		}
		e.clock.Advance(time.Hour)
		id, code := spend("G10")
		must[*SpendResult](t)(e.svc.ConfirmSpend(ctx, "cl_1", id, code))
		if bal := checkLedger(t, e.store, card); bal != 490 {
			t.Fatalf("balance %d, want 490", bal)
		}
	})
}
