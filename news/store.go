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
	// Atomic runs fn as one unit where the database can: on SQLite one
	// transaction that the push and wallet stores on the same file join
	// through fn's context (storage.Atomic), so a fan-out page's budget
	// claims, inbox events, counts and cursor are one commit; on MongoDB
	// it just calls fn, and each write stands alone, keyed, as always.
	Atomic(ctx context.Context, fn func(ctx context.Context) error) error
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
// audience, and who it reached: a row per recipient, unique (post, user),
// or on SQLite a count per page, unique (post, page).
type FanoutStore interface {
	// DuePosts lists posts with publish_at <= now, not withdrawn, whose
	// fan-out is not done, oldest first.
	DuePosts(ctx context.Context, now time.Time, limit int) ([]Post, error)
	// AdvanceFanout moves the post's cursor from from to to (and sets
	// done and failures) if it is still at from; false if another run
	// moved it first.
	AdvanceFanout(ctx context.Context, postID, from, to string, done bool, failures int) (bool, error)
	// RecordPage records what the page of the post's audience that
	// starts at cursor did. A page whose Delivered is known (an SQLite
	// unit: the page's events and this record commit together, so no
	// repeat of the page can count an account twice) may be kept as a
	// count; otherwise each of its users is a row, unique (post, user),
	// and a repeat leaves the rows that exist alone.
	RecordPage(ctx context.Context, postID, cursor string, pg Page) error
	// RecipientCounts adds up the post's recipients by status (its rows
	// and its counted pages).
	RecipientCounts(ctx context.Context, postID string) (map[int]int64, error)
	// MarkRead records that user opened the post (once; a repeat is no
	// error) and ReadCount counts them.
	MarkRead(ctx context.Context, postID, user string, at time.Time) error
	ReadCount(ctx context.Context, postID string) (int64, error)
	// ReadPosts reports which of postIDs user has opened.
	ReadPosts(ctx context.Context, user string, postIDs []string) (map[string]bool, error)
}

// Page is what one fan-out page did.
type Page struct {
	Users   []string // the page's accounts (a guardian once)
	Status  int      // RecipientSent or RecipientFailed (for good) for Users
	Skipped []string // of Users, those the message policy skipped
	// Delivered is how many of Users got a new event from this page, or
	// -1 when the inbox does not say.
	Delivered int
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
