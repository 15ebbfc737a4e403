package wallet

import (
	"errors"
	"fmt"
	"testing"

	"carewallet/app/storage/storagetest"
)

// TestReceiptOwner: a receipt belongs to one card on both stores, also
// when a receipt on one card and a spend confirmation on another race.
func TestReceiptOwner(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, b storagetest.Backend) {
		e := newEnv(t, b)
		e.setupClinic(t, "cl_1", testProgram())
		c, bc := e.joined(t, "pt_c", "cl_1").ID, e.joined(t, "pt_b", "cl_1").ID
		lines := []Line{{Service: "CONS-01", Amount: 100000}}
		for i := range 4 {
			id := fmt.Sprintf("X%d", i)
			sp := must[*SpendResult](t)(e.svc.CreateSpend(ctx, SpendRequest{ClinicID: "cl_1", CardID: c, ReceiptID: id, Lines: lines, Points: 10}))
			code := e.notes.spendCode(t, "pt_c", sp.SpendID)
			errs := make(chan error, 2)
			go func() {
				_, err := e.svc.ConfirmSpend(ctx, "cl_1", sp.SpendID, code)
				errs <- err
			}()
			go func() {
				_, err := e.svc.RecordReceipt(ctx, ReceiptRequest{ClinicID: "cl_1", CardID: bc, ReceiptID: id, Lines: lines})
				errs <- err
			}()
			var ok, refused int
			for range 2 {
				switch err := <-errs; {
				case err == nil:
					ok++
				case errors.Is(err, ErrConflict):
					refused++
				default:
					t.Fatal(err)
				}
			}
			if ok != 1 || refused != 1 {
				t.Fatalf("receipt %s: %d accepted, %d refused; want one each", id, ok, refused)
			}
		}
		checkLedger(t, e.store, c)
		checkLedger(t, e.store, bc)
	})
}
