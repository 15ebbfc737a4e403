package news

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"carewallet/app/storage"
)

// SQLiteStore is the embedded adapter. It keeps the MongoDB adapter's
// unique keys as primary keys; batches of recipients are written in one
// transaction each.
type SQLiteStore struct {
	db   *storage.SQLite
	r, w storage.Querier
}

var dbErr = storage.Errors{NotFound: ErrNotFound, Duplicate: errDuplicate, Context: "news"}

var sqliteMigrations = []string{`
CREATE TABLE news_weeks (clinic_id TEXT NOT NULL, week TEXT NOT NULL, post_id TEXT NOT NULL,
	PRIMARY KEY (clinic_id, week)) WITHOUT ROWID;
CREATE TABLE news_posts (
	id TEXT PRIMARY KEY, clinic_id TEXT NOT NULL, author_id TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL,
	image_type TEXT NOT NULL, publish_at INTEGER NOT NULL, week TEXT NOT NULL, poll TEXT NOT NULL,
	withdrawn INTEGER NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL,
	fanout_cursor TEXT NOT NULL, fanout_done INTEGER NOT NULL, fanout_failures INTEGER NOT NULL);
CREATE INDEX news_posts_clinic ON news_posts (clinic_id, publish_at, id);
CREATE INDEX news_posts_due ON news_posts (publish_at) WHERE fanout_done = 0 AND withdrawn = 0;
CREATE TABLE news_images (post_id TEXT PRIMARY KEY, type TEXT NOT NULL, data BLOB NOT NULL,
	width INTEGER NOT NULL, height INTEGER NOT NULL);
CREATE TABLE news_recipients (post_id TEXT NOT NULL, user_id TEXT NOT NULL, status INTEGER NOT NULL,
	PRIMARY KEY (post_id, user_id)) WITHOUT ROWID;
CREATE TABLE news_reads (post_id TEXT NOT NULL, user_id TEXT NOT NULL, at INTEGER NOT NULL,
	PRIMARY KEY (post_id, user_id)) WITHOUT ROWID;
CREATE TABLE news_votes (post_id TEXT NOT NULL, patient_id TEXT NOT NULL, option INTEGER NOT NULL, at INTEGER NOT NULL,
	PRIMARY KEY (post_id, patient_id)) WITHOUT ROWID;
`, `
CREATE TABLE news_threads (
	id TEXT PRIMARY KEY, clinic_id TEXT NOT NULL, patient_id TEXT NOT NULL, status TEXT NOT NULL, created INTEGER NOT NULL,
	last_at INTEGER NOT NULL, last_seq INTEGER NOT NULL, last_patient_seq INTEGER NOT NULL, last_manager_seq INTEGER NOT NULL,
	patient_read INTEGER NOT NULL, manager_read INTEGER NOT NULL,
	UNIQUE (clinic_id, patient_id));
CREATE INDEX news_threads_clinic ON news_threads (clinic_id, last_at, id);
CREATE INDEX news_threads_patient ON news_threads (patient_id);
CREATE TABLE news_messages (
	thread_id TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, author TEXT NOT NULL, author_id TEXT NOT NULL,
	text TEXT NOT NULL, bonus_points INTEGER NOT NULL, bonus_reason TEXT NOT NULL, at INTEGER NOT NULL,
	PRIMARY KEY (thread_id, seq)) WITHOUT ROWID;
CREATE TABLE news_slots (key TEXT NOT NULL, n INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (key, n)) WITHOUT ROWID;
`, `
ALTER TABLE news_posts ADD COLUMN level TEXT NOT NULL DEFAULT '';
`, `
ALTER TABLE news_posts ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
`, `
CREATE TABLE news_fanout_pages (post_id TEXT NOT NULL, cursor TEXT NOT NULL, sent INTEGER NOT NULL,
	PRIMARY KEY (post_id, cursor)) WITHOUT ROWID;
`}

// NewSQLiteStore migrates the news tables.
func NewSQLiteStore(ctx context.Context, db *storage.SQLite) (*SQLiteStore, error) {
	if err := storage.Migrate(ctx, db.Write, "news", sqliteMigrations); err != nil {
		return nil, err
	}
	return &SQLiteStore{db: db, r: db.Reader(), w: db.Writer()}, nil
}

func (s *SQLiteStore) ClaimWeek(ctx context.Context, clinicID, week, postID string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO news_weeks (clinic_id, week, post_id) VALUES (?, ?, ?)`, clinicID, week, postID)
	return dbErr.Map(err)
}

func (s *SQLiteStore) WeekOwner(ctx context.Context, clinicID, week string) (string, error) {
	var id string
	err := s.r.QueryRowContext(ctx, `SELECT post_id FROM news_weeks WHERE clinic_id = ? AND week = ?`, clinicID, week).Scan(&id)
	return id, dbErr.Map(err)
}

func (s *SQLiteStore) ReleaseWeek(ctx context.Context, clinicID, week, postID string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM news_weeks WHERE clinic_id = ? AND week = ? AND post_id = ?`, clinicID, week, postID)
	return dbErr.Map(err)
}

const postCols = `id, clinic_id, author_id, title, body, image_type, publish_at, week, poll, withdrawn, created, updated,
	fanout_cursor, fanout_done, fanout_failures, level, depth`

func pollJSON(p *Poll) string {
	if p == nil {
		return ""
	}
	b, _ := json.Marshal(p)
	return string(b)
}

func (s *SQLiteStore) InsertPost(ctx context.Context, p *Post) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO news_posts (`+postCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		p.ID, p.ClinicID, p.AuthorID, p.Title, p.Body, p.ImageType, storage.Nanos(p.PublishAt), p.Week, pollJSON(p.Poll),
		p.Withdrawn, storage.Nanos(p.Created), storage.Nanos(p.Updated), p.FanoutCursor, p.FanoutDone, p.FanoutFailures, p.Level, p.Depth)
	return dbErr.Map(err)
}

func scanPost(sc interface{ Scan(...any) error }) (*Post, error) {
	var p Post
	var publish, created, updated int64
	var poll string
	if err := sc.Scan(&p.ID, &p.ClinicID, &p.AuthorID, &p.Title, &p.Body, &p.ImageType, &publish, &p.Week, &poll,
		&p.Withdrawn, &created, &updated, &p.FanoutCursor, &p.FanoutDone, &p.FanoutFailures, &p.Level, &p.Depth); err != nil {
		return nil, err
	}
	p.PublishAt, p.Created, p.Updated = storage.FromNanos(publish), storage.FromNanos(created), storage.FromNanos(updated)
	if poll != "" {
		p.Poll = &Poll{}
		if err := json.Unmarshal([]byte(poll), p.Poll); err != nil {
			return nil, err
		}
	}
	return &p, nil
}

func (s *SQLiteStore) Post(ctx context.Context, id string) (*Post, error) {
	p, err := scanPost(s.r.QueryRowContext(ctx, `SELECT `+postCols+` FROM news_posts WHERE id = ?`, id))
	return p, dbErr.Map(err)
}

func (s *SQLiteStore) UpdatePost(ctx context.Context, p *Post) error {
	res, err := s.w.ExecContext(ctx, `UPDATE news_posts SET title = ?, body = ?, image_type = ?, publish_at = ?, week = ?,
		poll = ?, withdrawn = ?, updated = ? WHERE id = ?`, p.Title, p.Body, p.ImageType, storage.Nanos(p.PublishAt), p.Week,
		pollJSON(p.Poll), p.Withdrawn, storage.Nanos(p.Updated), p.ID)
	if err != nil {
		return dbErr.Map(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *SQLiteStore) DeletePost(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(q storage.Querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM news_images WHERE post_id = ?`, id); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `DELETE FROM news_posts WHERE id = ?`, id)
		return err
	})
}

func (s *SQLiteStore) PutImage(ctx context.Context, postID string, img *Image) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO news_images (post_id, type, data, width, height) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (post_id) DO UPDATE SET type = excluded.type, data = excluded.data, width = excluded.width, height = excluded.height`,
		postID, img.Type, img.Data, img.Width, img.Height)
	return dbErr.Map(err)
}

func (s *SQLiteStore) Image(ctx context.Context, postID string) (*Image, error) {
	var img Image
	err := s.r.QueryRowContext(ctx, `SELECT type, data, width, height FROM news_images WHERE post_id = ?`, postID).
		Scan(&img.Type, &img.Data, &img.Width, &img.Height)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	return &img, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func (s *SQLiteStore) Posts(ctx context.Context, clinicIDs []string, upTo time.Time, after Cursor, limit int) ([]Post, error) {
	where := []string{`clinic_id IN (` + placeholders(len(clinicIDs)) + `)`}
	args := make([]any, 0, len(clinicIDs)+4)
	for _, c := range clinicIDs {
		args = append(args, c)
	}
	if !upTo.IsZero() {
		where = append(where, `publish_at <= ?`, `withdrawn = 0`)
		args = append(args, storage.Nanos(upTo))
	}
	if after.ID != "" {
		where = append(where, `(publish_at, id) < (?, ?)`)
		args = append(args, storage.Nanos(after.At), after.ID)
	}
	args = append(args, limit)
	return posts(ctx, s.r, `SELECT `+postCols+` FROM news_posts WHERE `+strings.Join(where, " AND ")+
		` ORDER BY publish_at DESC, id DESC LIMIT ?`, args...)
}

// posts reads the posts a query selects (postCols) through q.
func posts(ctx context.Context, q storage.Querier, query string, args ...any) ([]Post, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	var out []Post
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			return nil, dbErr.Map(err)
		}
		out = append(out, *p)
	}
	return out, dbErr.Map(rows.Err())
}

func (s *SQLiteStore) DuePosts(ctx context.Context, now time.Time, limit int) ([]Post, error) {
	// The writer reads: a cursor another request just moved must be seen.
	return posts(ctx, s.w, `SELECT `+postCols+` FROM news_posts WHERE fanout_done = 0 AND withdrawn = 0
		AND publish_at <= ? ORDER BY publish_at LIMIT ?`, storage.Nanos(now), limit)
}

func (s *SQLiteStore) AdvanceFanout(ctx context.Context, postID, from, to string, done bool, failures int) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE news_posts SET fanout_cursor = ?, fanout_done = ?, fanout_failures = ?
		WHERE id = ? AND fanout_cursor = ? AND fanout_done = 0`, to, done, failures, postID, from)
	if err != nil {
		return false, dbErr.Map(err)
	}
	n, err := res.RowsAffected()
	return n == 1, dbErr.Map(err)
}

// AddRecipients inserts in multi-row statements (300 rows, 900
// parameters, under SQLite's limit), in one transaction.
func (s *SQLiteStore) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.Atomic(ctx, fn)
}

func (s *SQLiteStore) RecordPage(ctx context.Context, postID, cursor string, pg Page) error {
	if pg.Delivered >= 0 && pg.Status == RecipientSent {
		// The page's events and this count commit together (news
		// fan-out runs each page in Atomic): an account that already had
		// the post (a guardian on an earlier page) is not in Delivered,
		// and the page is never repeated after it committed. Only the
		// skipped, rare, keep a row each, so a guardian skipped on two
		// pages counts once.
		if _, err := s.w.ExecContext(ctx, `INSERT OR FAIL INTO news_fanout_pages (post_id, cursor, sent) VALUES (?, ?, ?)
			ON CONFLICT (post_id, cursor) DO UPDATE SET sent = excluded.sent`, postID, cursor, pg.Delivered); err != nil {
			return dbErr.Map(err)
		}
		return s.addRecipients(ctx, postID, pg.Skipped, RecipientSkipped)
	}
	if err := s.addRecipients(ctx, postID, pg.Skipped, RecipientSkipped); err != nil {
		return err
	}
	return s.addRecipients(ctx, postID, pg.Users, pg.Status)
}

// addRecipients inserts (post, user) rows with the status, leaving rows
// that exist alone (a skipped user stays skipped).
func (s *SQLiteStore) addRecipients(ctx context.Context, postID string, users []string, status int) error {
	if len(users) == 0 {
		return nil
	}
	const chunk = 300
	return dbErr.Map(s.db.Tx(ctx, func(q storage.Querier) error {
		for start := 0; start < len(users); start += chunk {
			part := users[start:min(start+chunk, len(users))]
			args := make([]any, 0, 3*len(part))
			for _, u := range part {
				args = append(args, postID, u, status)
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO news_recipients (post_id, user_id, status) VALUES `+
				strings.TrimSuffix(strings.Repeat("(?,?,?),", len(part)), ",")+` ON CONFLICT DO NOTHING`, args...); err != nil {
				return err
			}
		}
		return nil
	}))
}

func (s *SQLiteStore) RecipientCounts(ctx context.Context, postID string) (map[int]int64, error) {
	out, err := s.counts(ctx, `SELECT status, count(*) FROM news_recipients WHERE post_id = ? GROUP BY status`, postID)
	if err != nil {
		return nil, err
	}
	var sent int64
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(sum(sent), 0) FROM news_fanout_pages WHERE post_id = ?`,
		postID).Scan(&sent); err != nil {
		return nil, dbErr.Map(err)
	}
	if sent > 0 {
		out[RecipientSent] += sent
	}
	return out, nil
}

func (s *SQLiteStore) counts(ctx context.Context, query string, args ...any) (map[int]int64, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var k int
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, dbErr.Map(err)
		}
		out[k] = n
	}
	return out, dbErr.Map(rows.Err())
}

func (s *SQLiteStore) MarkRead(ctx context.Context, postID, user string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO news_reads (post_id, user_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		postID, user, storage.Nanos(at))
	return dbErr.Map(err)
}

func (s *SQLiteStore) ReadCount(ctx context.Context, postID string) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM news_reads WHERE post_id = ?`, postID).Scan(&n)
	return n, dbErr.Map(err)
}

func (s *SQLiteStore) ReadPosts(ctx context.Context, user string, postIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(postIDs) == 0 {
		return out, nil
	}
	args := []any{user}
	for _, id := range postIDs {
		args = append(args, id)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT post_id FROM news_reads WHERE user_id = ? AND post_id IN (`+
		placeholders(len(postIDs))+`)`, args...)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, dbErr.Map(err)
		}
		out[id] = true
	}
	return out, dbErr.Map(rows.Err())
}

func (s *SQLiteStore) InsertVote(ctx context.Context, v *Vote) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO news_votes (post_id, patient_id, option, at) VALUES (?, ?, ?, ?)`,
		v.PostID, v.PatientID, v.Option, storage.Nanos(v.At))
	return dbErr.Map(err)
}

func (s *SQLiteStore) Vote(ctx context.Context, postID, patientID string) (*Vote, error) {
	v := Vote{PostID: postID, PatientID: patientID}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT option, at FROM news_votes WHERE post_id = ? AND patient_id = ?`, postID, patientID).
		Scan(&v.Option, &at)
	if err != nil {
		return nil, dbErr.Map(err)
	}
	v.At = storage.FromNanos(at)
	return &v, nil
}

func (s *SQLiteStore) VoteCounts(ctx context.Context, postID string) (map[int]int64, error) {
	return s.counts(ctx, `SELECT option, count(*) FROM news_votes WHERE post_id = ? GROUP BY option`, postID)
}
