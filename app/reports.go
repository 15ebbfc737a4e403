package app

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"carewallet/wallet"
)

var rangeQuery = []param{
	{Name: "from", Description: "start, inclusive: YYYY-MM-DD (clinic time zone) or RFC 3339"},
	{Name: "to", Description: "end: YYYY-MM-DD includes that whole day (clinic time zone); RFC 3339 is exclusive"},
	{Name: "format", Description: "json (default) or csv", Enum: []string{"json", "csv"}},
}

// csvNext documents the cursor header of a paged report's CSV answer.
var csvNext = []param{{Name: "X-Next-Cursor", Description: "with ?format=csv: the next page's cursor (absent on the last page)"}}

// The range of times a report can cover: what int64 Unix nanoseconds,
// the stores' timestamps, represent (1677-09-21 to 2262-04-11), to whole
// days.
var (
	minReportTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	maxReportTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// dateRange reads ?from= and ?to=. A bare date is a day in the clinic's
// time zone; "to" as a date includes that day.
func (s *server) dateRange(c *fiber.Ctx) (from, to time.Time, err error) {
	loc, err := s.Identity.ClinicLocation(c.UserContext(), principal(c).ClinicID)
	if err != nil {
		return from, to, err
	}
	parse := func(name string, end bool) (time.Time, error) {
		v := c.Query(name)
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err == nil && end {
			t = t.AddDate(0, 0, 1)
		}
		if err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				return time.Time{}, &apiError{Status: 400, Code: "invalid_input", Message: name + ": want YYYY-MM-DD or an RFC 3339 time", Field: name}
			}
		}
		if t.Before(minReportTime) || t.After(maxReportTime) {
			// Times are stored as Unix nanoseconds: outside this range a
			// date cannot be compared with them.
			return time.Time{}, &apiError{Status: 400, Code: "invalid_input", Field: name,
				Message: name + ": must be between " + minReportTime.Format(time.DateOnly) + " and " + maxReportTime.Format(time.DateOnly)}
		}
		return t.UTC(), nil
	}
	if from, err = parse("from", false); err != nil {
		return
	}
	if to, err = parse("to", true); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, &apiError{Status: 400, Code: "invalid_input", Message: "from must be before to", Field: "from"}
	}
	return from, to, nil
}

// reportQuery reads the parameters every report takes: ?format= and the
// date range.
func (s *server) reportQuery(c *fiber.Ctx) (asCSV bool, from, to time.Time, err error) {
	if asCSV, err = wantCSV(c); err != nil {
		return
	}
	from, to, err = s.dateRange(c)
	return
}

func wantCSV(c *fiber.Ctx) (bool, error) {
	switch c.Query("format") {
	case "", "json":
		return false, nil
	case "csv":
		return true, nil
	}
	return false, &apiError{Status: 400, Code: "invalid_input", Message: "format: want json or csv", Field: "format"}
}

// sendCSV writes rows (the first is the header) as a CSV attachment; a
// next cursor, if any, goes in the X-Next-Cursor header.
func sendCSV(c *fiber.Ctx, name, next string, rows [][]string) error {
	if next != "" {
		c.Set("X-Next-Cursor", next)
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`.csv"`)
	return c.Send(encodeCSV(rows))
}

// encodeCSV writes RFC 4180 CSV that is safe to open in a spreadsheet
// whichever separator it splits on (a comma, or the semicolon of Russian
// locales): every cell is quoted, so no separator, quote or line break
// inside a cell ends it; a cell that a spreadsheet would run as a formula
// (starting with = + - @, a tab or a carriage return, and not a plain
// number) is prefixed with a single quote (OWASP's advice on CSV
// injection); control characters other than tab and line breaks, which
// have no place in a cell, become U+FFFD.
func encodeCSV(rows [][]string) []byte {
	var b bytes.Buffer
	for _, r := range rows {
		for i, cell := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !isNumber(cell) {
				cell = "'" + cell
			}
			b.WriteByte('"')
			for _, ch := range cell {
				switch {
				case ch == '"':
					b.WriteString(`""`)
				case ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r', ch == 0x7f:
					b.WriteRune(0xFFFD)
				default:
					b.WriteRune(ch)
				}
			}
			b.WriteByte('"')
		}
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func isNumber(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

var journalQuery = append([]param{
	{Name: "patient", Description: "patient id or phone"},
	{Name: "operation", Description: "entry kind: " + strings.Join(wallet.Kinds, ", ")},
	{Name: "reason", Description: "text in an adjustment's reason"},
}, append(rangeQuery, pageQuery...)...)

func (s *server) journal() fiber.Handler {
	return func(c *fiber.Ctx) error {
		asCSV, from, to, err := s.reportQuery(c)
		if err != nil {
			return err
		}
		after, limit, err := pageParams(c)
		if err != nil {
			return err
		}
		f := wallet.JournalFilter{ClinicID: principal(c).ClinicID, Kind: c.Query("operation"), Reason: c.Query("reason"),
			From: from, To: to, After: after, Limit: limit}
		if pt := c.Query("patient"); pt != "" {
			if strings.HasPrefix(pt, "pt_") {
				f.PatientID = pt
			} else {
				p, err := s.Identity.PatientByPhone(c.UserContext(), pt)
				if err != nil {
					return err
				}
				f.PatientID = p.ID
			}
		}
		page, err := s.Wallet.Journal(c.UserContext(), f)
		if err != nil {
			return err
		}
		if !asCSV {
			page.Rows = nonNil(page.Rows)
			return c.JSON(page)
		}
		rows := [][]string{{"created_at", "card_id", "patient_id", "seq", "operation", "amount", "balance_after", "staff_id", "receipt_id", "reason"}}
		for _, e := range page.Rows {
			rows = append(rows, []string{ts(e.Created), e.CardID, e.PatientID, i64(e.Seq), e.Kind, i64(e.Amount),
				i64(e.BalanceAfter), e.StaffID, e.ReceiptID, e.Reason})
		}
		return sendCSV(c, "journal", page.Next, rows)
	}
}

type staffCardsResponse struct {
	Rows []wallet.StaffCards `json:"rows"`
}

func (s *server) cardsByStaff() fiber.Handler {
	return func(c *fiber.Ctx) error {
		asCSV, from, to, err := s.reportQuery(c)
		if err != nil {
			return err
		}
		rows, err := s.Wallet.CardsByStaff(c.UserContext(), principal(c).ClinicID, from, to)
		if err != nil {
			return err
		}
		if !asCSV {
			return c.JSON(staffCardsResponse{Rows: nonNil(rows)})
		}
		out := [][]string{{"staff_id", "cards"}}
		for _, r := range rows {
			out = append(out, []string{r.StaffID, i64(r.Cards)})
		}
		return sendCSV(c, "cards-by-staff", "", out)
	}
}

func (s *server) cardsIssued() fiber.Handler {
	return func(c *fiber.Ctx) error {
		asCSV, from, to, err := s.reportQuery(c)
		if err != nil {
			return err
		}
		after, limit, err := pageParams(c)
		if err != nil {
			return err
		}
		page, err := s.Wallet.CardsIssued(c.UserContext(), principal(c).ClinicID, from, to, after, limit)
		if err != nil {
			return err
		}
		if !asCSV {
			page.Rows = nonNil(page.Rows)
			return c.JSON(page)
		}
		rows := [][]string{{"created_at", "card_id", "patient_id", "holder", "first_name", "last_name", "status", "issued_by"}}
		for _, r := range page.Rows {
			rows = append(rows, []string{ts(r.Created), r.ID, r.PatientID, r.Holder.Kind, r.Holder.FirstName, r.Holder.LastName, r.Status, r.IssuedBy})
		}
		return sendCSV(c, "cards", page.Next, rows)
	}
}

func (s *server) totals() fiber.Handler {
	return func(c *fiber.Ctx) error {
		asCSV, from, to, err := s.reportQuery(c)
		if err != nil {
			return err
		}
		t, err := s.Wallet.Totals(c.UserContext(), principal(c).ClinicID, from, to)
		if err != nil {
			return err
		}
		if !asCSV {
			return c.JSON(t)
		}
		return sendCSV(c, "totals", "", [][]string{
			{"issued", "spent", "burned", "reversed", "forfeited", "outstanding"},
			{i64(t.Issued), i64(t.Spent), i64(t.Burned), i64(t.Reversed), i64(t.Forfeited), i64(t.Outstanding)},
		})
	}
}
