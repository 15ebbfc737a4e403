package main

import (
	"context"
	"fmt"
	"io"

	"carewallet/push"
)

// demoPolicy sets the clinic's message policy (quiet hours 21:00–09:00,
// three messages a week) and switches marketing pushes off for the last
// demo patient, who still gets news in the inbox.
func demoPolicy(ctx context.Context, svc *services, clinicID string, patients []string, stdout io.Writer) error {
	if err := svc.Push.SetClinicPolicy(ctx, clinicID, push.Policy{QuietFrom: 21 * 60, QuietTo: 9 * 60, WeeklyBudget: 3}); err != nil {
		return fmt.Errorf("demo message policy: %w", err)
	}
	if len(patients) == 0 {
		return nil
	}
	if err := svc.Push.SetPreferences(ctx, patients[len(patients)-1], []push.Preference{{Clinic: clinicID, Marketing: false}}); err != nil {
		return fmt.Errorf("demo preferences: %w", err)
	}
	fmt.Fprint(stdout, `
messages: quiet hours 21:00-09:00 and 3 messages a week per patient
  (GET /v1/clinic/message-policy); the last patient switched marketing
  pushes off (GET /v1/me/preferences)
`)
	return nil
}
