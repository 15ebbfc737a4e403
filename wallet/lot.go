package wallet

import (
	"context"
	"fmt"
	"time"
)

// BurnCalendarDays is how many burn dates a card view shows (the next
// five; the lot list has the rest). A card's
// cost must not grow with its history: the view reads the head entry and
// the first lots in burn order only, and the full lot list pages (Lots).
const BurnCalendarDays = 5

// lotScan is how many lots the first store call reads while building a
// view: enough for the calendar when each date is one lot (the usual
// case since same-day credits share a lot); later calls read more. Each
// lot read costs, which is why the calendar is short.
func lotScan(days int) int { return days + 1 }

// LotView is one open lot on a card.
type LotView struct {
	LotID     string    `json:"lot_id"`
	Kind      string    `json:"kind"`
	Points    int64     `json:"points"`
	Remaining int64     `json:"remaining"`
	BurnsAt   time.Time `json:"burns_at"`
}

// LotsPage is GET /v1/cards/{id}/lots: open lots, soonest-burning first.
type LotsPage struct {
	Lots []LotView `json:"lots"`
	// Next is the opaque cursor of the following page ("" at the end).
	Next string `json:"next,omitempty"`
}

// lotCursor orders a card's open lots by (burns_at, id).
type lotCursor struct {
	BurnsAt time.Time
	ID      string
}

// Lots is GET /v1/cards/{id}/lots?after= for a patient: the card's open
// lots in the order spends take them.
func (s *Service) Lots(ctx context.Context, patientID, cardID, after string, limit int) (*LotsPage, error) {
	c, _, err := s.patientCard(ctx, patientID, cardID)
	if err != nil {
		return nil, err
	}
	return s.lots(ctx, c, after, limit)
}

// StaffLots is a card's open lots for staff of its clinic.
func (s *Service) StaffLots(ctx context.Context, clinicID, cardID, after string, limit int) (*LotsPage, error) {
	c, err := s.staffCard(ctx, clinicID, cardID)
	if err != nil {
		return nil, err
	}
	return s.lots(ctx, c, after, limit)
}

func (s *Service) lots(ctx context.Context, c *Card, after string, limit int) (*LotsPage, error) {
	var cur lotCursor
	if after != "" {
		t, id, _, err := decodeCursor(after)
		if err != nil {
			return nil, err
		}
		cur = lotCursor{BurnsAt: t, ID: id}
	}
	limit, err := pageSize(limit)
	if err != nil {
		return nil, err
	}
	lots, err := s.store.OpenLots(ctx, c.ID, cur, limit+1)
	if err != nil {
		return nil, fmt.Errorf("wallet: lots: %w", err)
	}
	page := &LotsPage{Lots: []LotView{}}
	for i, l := range lots {
		if i == limit {
			last := lots[limit-1]
			page.Next = encodeCursor(last.BurnsAt, last.ID, 0)
			break
		}
		page.Lots = append(page.Lots, LotView{LotID: l.ID, Kind: l.Kind, Points: l.Points, Remaining: l.Remaining, BurnsAt: l.BurnsAt})
	}
	return page, nil
}

// position is what a card view shows of its ledger: the head's balance
// and paid spend, the spendable balance at now, and the burn calendar.
type position struct {
	head      *State
	available int64
	burns     []BurnView
}

// position reads the head entry and then the card's open lots in burn
// order only as far as the calendar needs (days dates; 0: none). Lots past
// their burn instant (the burn job has not reached them yet) come first
// and are not available; every other open lot is, so the available
// balance is the head's balance less those.
func (s *Service) position(ctx context.Context, c *Card, now time.Time, days int) (*position, error) {
	head, err := s.store.Head(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("wallet: card state: %w", err)
	}
	pos := &position{head: head, available: head.Balance, burns: []BurnView{}}
	var loc *time.Location
	var cur lotCursor
	for scan := lotScan(days); ; scan = min(scan*4, MaxPageSize) {
		lots, err := s.store.OpenLots(ctx, c.ID, cur, scan)
		if err != nil {
			return nil, fmt.Errorf("wallet: card lots: %w", err)
		}
		for _, l := range lots {
			if !usable(l, now) {
				pos.available -= l.Remaining
				continue
			}
			if loc == nil {
				if loc, err = s.location(ctx, c.ClinicID); err != nil {
					return nil, err
				}
			}
			// The last day the points can be used, in the clinic's zone.
			date := l.BurnsAt.Add(-time.Nanosecond).In(loc).Format(time.DateOnly)
			if n := len(pos.burns); n > 0 && pos.burns[n-1].Date == date {
				pos.burns[n-1].Points += l.Remaining
				continue
			}
			if len(pos.burns) == days {
				return pos, nil
			}
			pos.burns = append(pos.burns, BurnView{Date: date, BurnsAt: l.BurnsAt, Points: l.Remaining})
		}
		if len(lots) < scan {
			return pos, nil
		}
		last := lots[len(lots)-1]
		cur = lotCursor{BurnsAt: last.BurnsAt, ID: last.ID}
	}
}
