package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"carewallet/app/idempotency"
	"carewallet/app/identity"
	"carewallet/app/storage"
	"carewallet/news"
	"carewallet/news/care"
	"carewallet/push"
	"carewallet/referrals"
	"carewallet/wallet"
)

// stores are every domain's store on the configured backend.
type stores struct {
	Identity    identity.Store
	Push        push.Store
	Wallet      wallet.Store
	Referrals   referrals.Store
	News        news.Store
	Care        care.Store
	Idempotency idempotency.Store
	sqlite      *storage.SQLite
	mongo       *mongo.Client
}

func openStores(ctx context.Context, c config) (*stores, error) {
	s := &stores{}
	if c.MongoURI != "" {
		client, err := storage.ConnectMongo(ctx, c.MongoURI)
		if err != nil {
			return nil, err
		}
		s.mongo = client
		db := client.Database(c.MongoDB)
		if err := s.openMongo(ctx, db); err != nil {
			s.Close()
			return nil, err
		}
		return s, nil
	}
	db, err := storage.OpenSQLite(ctx, filepath.Join(c.DataDir, "carewallet.db"))
	if err != nil {
		return nil, err
	}
	s.sqlite = db
	if err := s.openSQLite(ctx, db); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *stores) openMongo(ctx context.Context, db *mongo.Database) (err error) {
	if s.Identity, err = identity.NewMongoStore(ctx, db); err != nil {
		return err
	}
	if s.Push, err = push.NewMongoStore(ctx, db); err != nil {
		return err
	}
	if s.Wallet, err = wallet.NewMongoStore(ctx, db); err != nil {
		return err
	}
	if s.Referrals, err = referrals.NewMongoStore(ctx, db); err != nil {
		return err
	}
	if s.News, err = news.NewMongoStore(ctx, db); err != nil {
		return err
	}
	if s.Care, err = care.NewMongoStore(ctx, db); err != nil {
		return err
	}
	s.Idempotency, err = idempotency.NewMongoStore(ctx, db)
	return err
}

func (s *stores) openSQLite(ctx context.Context, db *storage.SQLite) (err error) {
	if s.Identity, err = identity.NewSQLiteStore(ctx, db); err != nil {
		return err
	}
	if s.Push, err = push.NewSQLiteStore(ctx, db); err != nil {
		return err
	}
	if s.Wallet, err = wallet.NewSQLiteStore(ctx, db); err != nil {
		return err
	}
	if s.Referrals, err = referrals.NewSQLiteStore(ctx, db); err != nil {
		return err
	}
	if s.News, err = news.NewSQLiteStore(ctx, db); err != nil {
		return err
	}
	if s.Care, err = care.NewSQLiteStore(ctx, db); err != nil {
		return err
	}
	s.Idempotency, err = idempotency.NewSQLiteStore(ctx, db)
	return err
}

// Ping reports whether the database answers.
func (s *stores) Ping(ctx context.Context) error {
	if s.mongo != nil {
		return s.mongo.Ping(ctx, nil)
	}
	return s.sqlite.Ping(ctx)
}

// Close closes the database; call it after the last request finished.
func (s *stores) Close() error {
	if s.mongo != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return s.mongo.Disconnect(ctx)
	}
	if s.sqlite != nil {
		return s.sqlite.Close()
	}
	return nil
}

// jwtKey reads CAREWALLET_JWT_KEY_FILE, or in the embedded mode creates a
// random key in the data directory on first start and keeps it.
func jwtKey(c config) ([]byte, error) {
	path := c.JWTKeyFile
	if path == "" {
		path = filepath.Join(c.DataDir, "jwt.key")
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return nil, err
		}
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		switch {
		case err == nil:
			_, werr := f.WriteString(hex.EncodeToString(b[:]) + "\n")
			if err := errors.Join(werr, f.Close()); err != nil {
				return nil, fmt.Errorf("write %s: %w", path, err)
			}
		case !errors.Is(err, os.ErrExist):
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("JWT key: %w", err)
	}
	key := []byte(strings.TrimSpace(string(raw)))
	if len(key) < 32 {
		return nil, fmt.Errorf("JWT key %s: want at least 32 bytes (e.g. openssl rand -hex 32), got %d", path, len(key))
	}
	return key, nil
}

// subkey derives an independent key for another purpose, so the JWT key
// is never used directly as, say, the code-hashing key.
func subkey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("carewallet/" + purpose))
	return m.Sum(nil)
}

// scrub is what runs after a patient is erased: on SQLite, a WAL
// checkpoint that pushes the erased bytes out of the -wal file (the
// writer overwrites deleted content: secure_delete); MongoDB needs none.
func (s *stores) scrub() func(ctx context.Context) error {
	if s.sqlite == nil {
		return nil
	}
	return s.sqlite.Scrub
}
