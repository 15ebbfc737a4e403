package news

import (
	"context"
	"time"
)

// Store is the package's persistence, one small interface per concept;
// SQLiteStore and MongoStore implement it with the same unique keys and
// one conformance suite tests both. Inserts guarded by a unique key return
// an error wrapping errDuplicate when the key is taken; lookups return
// ErrNotFound.
type Store interface {
	PostStore
	FanoutStore
	PollStore
	ChatStore
}

// PostStore keeps posts, their images and the weekly claims: unique
// (clinic, week).
type PostStore interface {
	// ClaimWeek inserts the claim (clinic, week) → post.
	ClaimWeek(ctx context.Context, clinicID, week, postID string) error
	// WeekOwner is the post holding the clinic's week.
	WeekOwner(ctx context.Context, clinicID, week string) (string, error)
	// ReleaseWeek deletes the claim if postID holds it.
	ReleaseWeek(ctx context.Context, clinicID, week, postID string) error
	InsertPost(ctx context.Context, p *Post) error
	Post(ctx context.Context, id string) (*Post, error)
	// UpdatePost rewrites the post's editable fields (title, body, image
	// type, publish_at, week, poll, withdrawn, updated).
	UpdatePost(ctx context.Context, p *Post) error
	DeletePost(ctx context.Context, id string) error
	PutImage(ctx context.Context, postID string, img *Image) error
	Image(ctx context.Context, postID string) (*Image, error)
	// Posts lists the posts of the clinics newest first by (publish_at,
	// id), strictly after the cursor. Published only: publish_at <= upTo
	// and not withdrawn, unless upTo is zero (a clinic's own list, which
	// shows scheduled and withdrawn posts too).
	Posts(ctx context.Context, clinicIDs []string, upTo time.Time, after Cursor, limit int) ([]Post, error)
}

// FanoutStore keeps the durable fan-out: the post's cursor into its
// audience and one row per recipient, unique (post, user).
type FanoutStore interface {
	// DuePosts lists posts with publish_at <= now, not withdrawn, whose
	// fan-out is not done, oldest first.
	DuePosts(ctx context.Context, now time.Time, limit int) ([]Post, error)
	// AdvanceFanout moves the post's cursor from from to to (and sets
	// done and failures) if it is still at from; false if another run
	// moved it first.
	AdvanceFanout(ctx context.Context, postID, from, to string, done bool, failures int) (bool, error)
	// AddRecipients inserts (post, user) rows with the status, leaving
	// rows that exist alone.
	AddRecipients(ctx context.Context, postID string, users []string, status int) error
	// RecipientCounts counts the post's rows by status.
	RecipientCounts(ctx context.Context, postID string) (map[int]int64, error)
	// MarkRead records that user opened the post (once; a repeat is no
	// error) and ReadCount counts them.
	MarkRead(ctx context.Context, postID, user string, at time.Time) error
	ReadCount(ctx context.Context, postID string) (int64, error)
	// ReadPosts reports which of postIDs user has opened.
	ReadPosts(ctx context.Context, user string, postIDs []string) (map[string]bool, error)
}

// Recipient statuses.
const (
	RecipientSent    = 1
	RecipientFailed  = 2
	RecipientSkipped = 3 // the message policy skipped them (weekly budget): no event, no push
)

// PollStore keeps votes: unique (post, patient).
type PollStore interface {
	InsertVote(ctx context.Context, v *Vote) error
	Vote(ctx context.Context, postID, patientID string) (*Vote, error)
	// VoteCounts counts the post's votes per option (0-based).
	VoteCounts(ctx context.Context, postID string) (map[int]int64, error)
}
