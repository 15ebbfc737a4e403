// Command carewallet runs the carewallet API (serve, the default), fills
// an empty data directory with a demo (demo), and administers clinics
// (clinic create). Configuration comes from the environment; see README.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // clinic time zones work even where the OS has no zoneinfo (distroless, scratch)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "carewallet:", err)
		os.Exit(1)
	}
}
