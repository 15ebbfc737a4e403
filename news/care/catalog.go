package care

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"carewallet/app/problem"
	"carewallet/app/text"
)

// Catalog limits.
const (
	MaxServiceName = 200
	MaxImportRows  = 5000
	MaxSites       = 10
	MaxSiteName    = 60
	MaxSiteURL     = 500
)

// ServiceText is one of the clinic's services (its code as in the
// clinic's price list and program) with its texts for before and after
// the visit ("" for none).
type ServiceText struct {
	Code       string    `json:"code" api:"required"`
	Name       string    `json:"name" api:"required"`
	BeforeText string    `json:"before_text" api:"required"`
	AfterText  string    `json:"after_text" api:"required"`
	UpdatedAt  time.Time `json:"updated_at" api:"required"`
	ClinicID   string    `json:"-"`
}

// ServiceRequest is PUT /v1/clinic/services/{code}: it replaces the texts;
// an empty text or a left-out one means none.
type ServiceRequest struct {
	Name       string `json:"name,omitempty"`
	BeforeText string `json:"before_text,omitempty"`
	AfterText  string `json:"after_text,omitempty"`
}

func checkService(code string, r ServiceRequest, prefix string) (ServiceText, error) {
	if m := text.ID(code, MaxCode); m != "" {
		return ServiceText{}, invalid(prefix+"code", "%s", m)
	}
	t := ServiceText{Code: code, Name: strings.TrimSpace(r.Name)}
	if m := text.Line(t.Name, MaxServiceName); m != "" {
		return ServiceText{}, invalid(prefix+"name", "%s", m)
	}
	var err error
	if strings.TrimSpace(r.BeforeText) != "" {
		if t.BeforeText, err = CheckText(prefix+"before_text", r.BeforeText); err != nil {
			return ServiceText{}, err
		}
	}
	if strings.TrimSpace(r.AfterText) != "" {
		if t.AfterText, err = CheckText(prefix+"after_text", r.AfterText); err != nil {
			return ServiceText{}, err
		}
	}
	return t, nil
}

// PutService is PUT /v1/clinic/services/{code}.
func (s *Service) PutService(ctx context.Context, clinicID, code string, r ServiceRequest) (*ServiceText, error) {
	t, err := checkService(code, r, "")
	if err != nil {
		return nil, err
	}
	t.ClinicID, t.UpdatedAt = clinicID, s.now()
	if err := s.store.PutServices(ctx, clinicID, []ServiceText{t}); err != nil {
		return nil, err
	}
	return &t, nil
}

// ServicesPage is a page of the clinic's services.
type ServicesPage struct {
	Services []ServiceText `json:"services" api:"required"`
	Next     string        `json:"next,omitempty"`
}

// Services is GET /v1/clinic/services: by code, after the cursor.
func (s *Service) Services(ctx context.Context, clinicID, after string, limit int) (*ServicesPage, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	list, err := s.store.AllServices(ctx, clinicID, after, limit+1)
	if err != nil {
		return nil, err
	}
	page := &ServicesPage{Services: list}
	if len(list) > limit {
		page.Services, page.Next = list[:limit], list[limit-1].Code
	}
	if page.Services == nil {
		page.Services = []ServiceText{}
	}
	return page, nil
}

// ImportResult answers POST /v1/clinic/services.csv.
type ImportResult struct {
	Imported int `json:"imported" api:"required"`
}

// ImportServices is POST /v1/clinic/services.csv: the clinic's price list
// with the columns code (required), name, before_text and after_text, a
// header row first. Every line is checked before anything is written; a
// bad line fails the whole import with an error naming it.
func (s *Service) ImportServices(ctx context.Context, clinicID string, body io.Reader) (*ImportResult, error) {
	r := csv.NewReader(body)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, invalid("line 1", "the CSV is empty: the first line must name the columns (code, name, before_text, after_text)")
	}
	if err != nil {
		return nil, csvError(err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch h {
		case "code", "name", "before_text", "after_text":
		default:
			return nil, invalid("line 1", "unknown column %q: the columns are code, name, before_text, after_text", h)
		}
		if _, dup := col[h]; dup {
			return nil, invalid("line 1", "column %q appears twice", h)
		}
		col[h] = i
	}
	if _, ok := col["code"]; !ok {
		return nil, invalid("line 1", "the code column is required")
	}
	cell := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var list []ServiceText
	lineOf := map[string]int{}
	now := s.now()
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			return nil, invalid(fmt.Sprintf("line %d", line), "has %d fields, the header %d", len(rec), len(header))
		}
		if len(list) == MaxImportRows {
			return nil, invalid(fmt.Sprintf("line %d", line), "at most %d services in one import", MaxImportRows)
		}
		code := strings.TrimSpace(cell(rec, "code"))
		t, err := checkService(code, ServiceRequest{Name: cell(rec, "name"), BeforeText: cell(rec, "before_text"),
			AfterText: cell(rec, "after_text")}, "")
		if err != nil {
			var inv *problem.Invalid
			if errors.As(err, &inv) {
				return nil, invalid(fmt.Sprintf("line %d", line), "%s: %s", inv.Field, inv.Message)
			}
			return nil, err
		}
		if first, dup := lineOf[code]; dup {
			return nil, invalid(fmt.Sprintf("line %d", line), "code %s is already on line %d", code, first)
		}
		lineOf[code] = line
		t.ClinicID, t.UpdatedAt = clinicID, now
		list = append(list, t)
	}
	if len(list) == 0 {
		return nil, invalid("line 2", "the CSV has no services")
	}
	if err := s.store.PutServices(ctx, clinicID, list); err != nil {
		return nil, err
	}
	return &ImportResult{Imported: len(list)}, nil
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return invalid(fmt.Sprintf("line %d", pe.Line), "%v", pe.Err)
	}
	return invalid("body", "not CSV: %v", err)
}

// Site is one of the clinic's review sites (ProDoctorov, Yandex Maps,
// 2GIS), shown to patients who rated a visit 4 or 5.
type Site struct {
	Name string `json:"name" api:"required"`
	URL  string `json:"url" api:"required"`
}

// PutReviewSites is PUT /v1/clinic/review-sites: the whole list.
func (s *Service) PutReviewSites(ctx context.Context, clinicID string, sites []Site) ([]Site, error) {
	if len(sites) > MaxSites {
		return nil, invalid("sites", "at most %d review sites", MaxSites)
	}
	out := make([]Site, 0, len(sites))
	for i, st := range sites {
		name := strings.TrimSpace(st.Name)
		if name == "" {
			return nil, invalid(fmt.Sprintf("[%d].name", i), "is required")
		}
		if m := text.Line(name, MaxSiteName); m != "" {
			return nil, invalid(fmt.Sprintf("[%d].name", i), "%s", m)
		}
		u, err := url.Parse(strings.TrimSpace(st.URL))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(st.URL) > MaxSiteURL || u.User != nil {
			return nil, invalid(fmt.Sprintf("[%d].url", i), "must be an http(s) address of at most %d characters", MaxSiteURL)
		}
		out = append(out, Site{Name: name, URL: u.String()})
	}
	if err := s.store.PutReviewSites(ctx, clinicID, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ReviewSites is GET /v1/clinic/review-sites.
func (s *Service) ReviewSites(ctx context.Context, clinicID string) ([]Site, error) {
	sites, err := s.store.ReviewSites(ctx, clinicID)
	if sites == nil {
		sites = []Site{}
	}
	return sites, err
}
