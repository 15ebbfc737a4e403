package news

import (
	"context"
	"strconv"
	"strings"
)

// MaxAudienceDepth is the deepest level of a clinic's referral tree a
// post may be sent to ("depth:1" .. "depth:8"; depth 1 came by
// themselves, as in the referral report).
const MaxAudienceDepth = 8

// Segment is a post's audience as the fan-out asks for it: every
// cardholder of the clinic (zero), the cards at one loyalty level, or the
// patients at one depth of the clinic's referral tree.
type Segment struct {
	Level string
	Depth int
}

// Segment is the post's audience.
func (p *Post) Segment() Segment { return Segment{Level: p.Level, Depth: p.Depth} }

// audienceName is how a post's audience is written in the API: "all",
// "level:NAME" or "depth:N".
func audienceName(p *Post) string {
	switch {
	case p.Depth > 0:
		return "depth:" + strconv.Itoa(p.Depth)
	case p.Level != "":
		return "level:" + p.Level
	}
	return AudienceAll
}

// parseAudience checks a draft's audience: "" or "all", "level:NAME" (a
// level of the clinic's loyalty program) or "depth:N" (N from 1 to
// MaxAudienceDepth).
func (s *Service) parseAudience(ctx context.Context, clinicID, a string) (Segment, error) {
	if a == "" || a == AudienceAll {
		return Segment{}, nil
	}
	if name, ok := strings.CutPrefix(a, "level:"); ok && name != "" {
		if err := s.opts.Audience.CheckLevel(ctx, clinicID, name); err != nil {
			return Segment{}, err
		}
		return Segment{Level: name}, nil
	}
	if n, ok := strings.CutPrefix(a, "depth:"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d < 1 || d > MaxAudienceDepth || strconv.Itoa(d) != n {
			return Segment{}, invalid("audience", "depth must be a whole number from 1 to %d, as in \"depth:2\"", MaxAudienceDepth)
		}
		return Segment{Depth: d}, nil
	}
	return Segment{}, invalid("audience", `must be "all", "level:NAME" (a level of the clinic's program) or "depth:N" (N from 1 to %d: a depth of the referral tree)`, MaxAudienceDepth)
}
