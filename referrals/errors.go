package referrals

import (
	"errors"

	"carewallet/app/problem"
)

// Sentinel errors; app's error table maps each to a status and a code.
var (
	ErrNotFound        = errors.New("referrals: not found")
	ErrInvalid         = errors.New("referrals: invalid input")
	ErrInvalidProgram  = errors.New("referrals: invalid referral program")
	ErrUnknownCode     = errors.New("referrals: unknown referral code")
	ErrDisabled        = errors.New("referrals: the clinic's referral program is off")
	ErrSelfReferral    = errors.New("referrals: a patient cannot use their own referral code")
	ErrAlreadyReferred = errors.New("referrals: the patient already joined this clinic with a referral code")
	ErrNotNewPatient   = errors.New("referrals: only new patients can be referred: the patient already paid at this clinic")
	ErrNotOwnCard      = errors.New("referrals: only the holder's own active card has a referral code")
	ErrTooManyCodes    = errors.New("referrals: too many wrong referral codes")
	ErrDecided         = errors.New("referrals: the referral was already approved or rejected")
	ErrNotHeld         = errors.New("referrals: the referral is not held")

	// errDuplicate is what a store returns when a unique key is taken.
	errDuplicate = errors.New("referrals: duplicate key")
)

func invalid(field, format string, args ...any) error {
	return problem.Invalidf(ErrInvalid, field, format, args...)
}

func invalidProgram(field, format string, args ...any) error {
	return problem.Invalidf(ErrInvalidProgram, field, format, args...)
}
