package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the "sqlite" driver, as app/storage uses it
)

// runBackup writes a consistent copy of the embedded database to file
// while the service may be running: SQLite's VACUUM INTO reads one
// snapshot (a read transaction in WAL mode, which writers do not block)
// and writes it compacted into a new file. The copy is a complete
// database: restore it by stopping the service and putting it in place of
// DATA/carewallet.db (README, "Backups").
func runBackup(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
		return errors.New("usage: carewallet backup FILE (FILE must not exist)")
	}
	if cfg.MongoURI != "" {
		return errors.New("backup: CAREWALLET_MONGO_URI is set: this command copies the embedded SQLite store only; back up MongoDB with mongodump (e.g. mongodump --uri=\"$CAREWALLET_MONGO_URI\" --db=carewallet --archive=FILE --gzip) or your provider's snapshots")
	}
	src := filepath.Join(cfg.DataDir, "carewallet.db")
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup: no database at %s (CAREWALLET_DATA): %w", src, err)
	}
	dst, err := filepath.Abs(args[0])
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// Create the target owner-only and exclusively: an existing file is
	// refused, never overwritten, and VACUUM INTO fills an empty file.
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("backup: %s already exists; choose a new file name", dst)
	}
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(dst)
		}
	}()
	// Read-only: the backup never writes to the live database, and a
	// busy timeout waits out a writer's checkpoint instead of failing.
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := syncFile(dst); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	done = true
	fmt.Fprintf(stdout, "backup of %s written to %s (%d bytes)\n", src, dst, fi.Size())
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
