package storage

import (
	"database/sql"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"modernc.org/sqlite"
)

// Errors translates a database error into the sentinels of the package
// whose store returned it, the same way on SQLite and MongoDB, so a store
// needs no translation function of its own:
//
//	var dbErr = storage.Errors{NotFound: ErrNotFound, Duplicate: ErrDuplicate, Context: "identity"}
//	return dbErr.Map(err)
type Errors struct {
	// NotFound replaces sql.ErrNoRows and mongo.ErrNoDocuments; nil keeps
	// them (wrapped).
	NotFound error
	// Duplicate replaces a unique-key violation (IsDuplicate). The
	// driver's text holds the clashing key's value (a phone, an email), so
	// it is dropped, never passed on. Nil keeps the violation (wrapped),
	// for callers that test IsDuplicate themselves.
	Duplicate error
	// Context prefixes any other error ("identity: sqlite: ..."); empty
	// returns it as is.
	Context string
}

// Map translates err: nil stays nil, a missing row or document becomes
// NotFound, a unique-key violation becomes Duplicate, and anything else is
// wrapped with Context.
func (e Errors) Map(err error) error {
	switch {
	case err == nil:
		return nil
	case e.NotFound != nil && IsNotFound(err):
		return e.NotFound
	case e.Duplicate != nil && IsDuplicate(err):
		return e.Duplicate
	case e.Context == "":
		return err
	}
	return fmt.Errorf("%s: %w", e.Context, err)
}

// IsNotFound reports whether err says a single-row or single-document read
// found nothing, on either database.
func IsNotFound(err error) bool {
	return errors.Is(err, sql.ErrNoRows) || errors.Is(err, mongo.ErrNoDocuments)
}

// IsDatabaseError reports whether err comes from the database itself — an
// SQLite error (busy, I/O, constraint), a MongoDB server or network
// error, a closed connection — rather than from a rule of ours.
// Metrics count these as store errors.
func IsDatabaseError(err error) bool {
	if err == nil {
		return false
	}
	var se *sqlite.Error
	var srv mongo.ServerError
	return errors.As(err, &se) || errors.As(err, &srv) ||
		mongo.IsNetworkError(err) ||
		errors.Is(err, mongo.ErrClientDisconnected) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone)
}
