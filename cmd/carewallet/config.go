package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"carewallet/push"
)

// config is the environment, parsed and validated once at start-up. The
// defaults run the embedded mode: SQLite in ./data, nothing to install.
type config struct {
	Addr       string // CAREWALLET_ADDR
	DataDir    string // CAREWALLET_DATA
	MongoURI   string // CAREWALLET_MONGO_URI: when set, MongoDB instead of SQLite
	MongoDB    string // CAREWALLET_MONGO_DB
	SMSWebhook string // CAREWALLET_SMS_WEBHOOK: when set, the webhook SMS driver; else the log driver
	JWTKeyFile string // CAREWALLET_JWT_KEY_FILE
	LogLevel   slog.Level
	FCM        push.FCMConfig // CAREWALLET_FCM_PROJECT, _CREDENTIALS, _ENDPOINT; none set: push off
}

func loadConfig(getenv func(string) string) (config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := config{
		Addr:       get("CAREWALLET_ADDR", ":8080"),
		DataDir:    get("CAREWALLET_DATA", "./data"),
		MongoURI:   get("CAREWALLET_MONGO_URI", ""),
		MongoDB:    get("CAREWALLET_MONGO_DB", "carewallet"),
		SMSWebhook: get("CAREWALLET_SMS_WEBHOOK", ""),
		JWTKeyFile: get("CAREWALLET_JWT_KEY_FILE", ""),
		FCM:        push.FCMConfigFromEnv(func(k string) string { return get(k, "") }),
	}
	var errs []error
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("CAREWALLET_ADDR=%q: want host:port such as :8080 or 127.0.0.1:8080", c.Addr))
	}
	if c.MongoURI != "" {
		if !strings.HasPrefix(c.MongoURI, "mongodb://") && !strings.HasPrefix(c.MongoURI, "mongodb+srv://") {
			errs = append(errs, errors.New("CAREWALLET_MONGO_URI: want a mongodb:// or mongodb+srv:// URI"))
		}
		if c.JWTKeyFile == "" {
			errs = append(errs, errors.New("CAREWALLET_JWT_KEY_FILE is required with CAREWALLET_MONGO_URI: every instance must sign with the same key"))
		}
		if strings.ContainsAny(c.MongoDB, "/\\. \"$") || len(c.MongoDB) > 63 {
			errs = append(errs, fmt.Errorf("CAREWALLET_MONGO_DB=%q: not a valid database name", c.MongoDB))
		}
	}
	if c.FCM.Endpoint != "" {
		u, err := url.Parse(c.FCM.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("CAREWALLET_FCM_ENDPOINT: want an http:// or https:// URL"))
		}
	}
	if c.SMSWebhook != "" {
		u, err := url.Parse(c.SMSWebhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("CAREWALLET_SMS_WEBHOOK: want an http:// or https:// URL"))
		}
	}
	switch lv := strings.ToLower(get("CAREWALLET_LOG_LEVEL", "info")); lv {
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "info":
		c.LogLevel = slog.LevelInfo
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		errs = append(errs, fmt.Errorf("CAREWALLET_LOG_LEVEL=%q: want debug, info, warn or error", lv))
	}
	if err := errors.Join(errs...); err != nil {
		return config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}
