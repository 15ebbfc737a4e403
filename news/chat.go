package news

import "context"

// Staff lists the clinic's managers (identity), whose inboxes receive the
// clinic's chat messages so that every signed-in manager sees them live.
type Staff interface {
	Managers(ctx context.Context, clinicID string) ([]string, error)
}

// Bonus credits a patient's card in the clinic (wallet): a manual
// adjustment, posted once per key.
type Bonus interface {
	Credit(ctx context.Context, b BonusCredit) error
}

// BonusCredit is a manager's bonus given with a chat reply.
type BonusCredit struct {
	ClinicID, StaffID, PatientID string
	CardID                       string // "" picks the patient's own card in the clinic
	Points                       int64
	Reason                       string
	Key                          string
}
