package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"carewallet/app/identity"
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
	// SignIn are the sign-in abuse limits: CAREWALLET_SMS_PREFIXES,
	// _SMS_PER_CLIENT_HOUR, _SMS_PER_MINUTE, _SMS_PER_HOUR,
	// _SIGNIN_CHECKS_PER_CLIENT_HOUR, _SIGNIN_CHECKS_PER_MINUTE.
	SignIn identity.Limits
	// ClientIPHeader is the header a trusted reverse proxy puts the
	// client's address in (CAREWALLET_CLIENT_IP_HEADER; "" trusts none and
	// uses the connection's address).
	ClientIPHeader string
	// CORSOrigins are the exact browser origins that get CORS answers
	// (CAREWALLET_CORS_ORIGINS, comma-separated; none by default).
	CORSOrigins []string
	// MetricsAddr is the separate listener of GET /metrics
	// (CAREWALLET_METRICS_ADDR; "" serves no metrics). It never shares the
	// API's port.
	MetricsAddr string
	// PublicURL is the public base address of the API, where referral
	// links point ({PublicURL}/r/{code}): CAREWALLET_PUBLIC_URL, default
	// http://localhost plus the port of CAREWALLET_ADDR.
	PublicURL string
}

// defaultAddr is the API's listen address when CAREWALLET_ADDR is unset.
const defaultAddr = ":8080"

func loadConfig(getenv func(string) string) (config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := config{
		Addr:       get("CAREWALLET_ADDR", defaultAddr),
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
	} else {
		c.PublicURL = "http://localhost:" + port
	}
	if v := get("CAREWALLET_PUBLIC_URL", ""); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("CAREWALLET_PUBLIC_URL=%q: want an absolute http(s) URL such as https://wallet.example.com", v))
		}
		c.PublicURL = strings.TrimRight(v, "/")
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
	count := func(name string, def int) int {
		v := get(name, strconv.Itoa(def))
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number from 1 to 1000000", name, v))
		}
		return n
	}
	c.SignIn = identity.Limits{
		CodesPerClientHour:  count("CAREWALLET_SMS_PER_CLIENT_HOUR", identity.DefaultCodesPerClientHour),
		CodesPerMinute:      count("CAREWALLET_SMS_PER_MINUTE", identity.DefaultCodesPerMinute),
		CodesPerHour:        count("CAREWALLET_SMS_PER_HOUR", identity.DefaultCodesPerHour),
		ChecksPerClientHour: count("CAREWALLET_SIGNIN_CHECKS_PER_CLIENT_HOUR", identity.DefaultChecksPerClientHour),
		ChecksPerMinute:     count("CAREWALLET_SIGNIN_CHECKS_PER_MINUTE", identity.DefaultChecksPerMinute),
	}
	for _, p := range strings.Split(get("CAREWALLET_SMS_PREFIXES", identity.DefaultCodePrefix), ",") {
		p = strings.TrimSpace(p)
		if !validPrefix(p) {
			errs = append(errs, fmt.Errorf("CAREWALLET_SMS_PREFIXES: %q is not a prefix of E.164 numbers such as +79 (comma-separated)", p))
			continue
		}
		c.SignIn.CodePrefixes = append(c.SignIn.CodePrefixes, p)
	}
	if h := get("CAREWALLET_CLIENT_IP_HEADER", ""); h != "" {
		if strings.ContainsAny(h, " :\t") || len(h) > 64 {
			errs = append(errs, fmt.Errorf("CAREWALLET_CLIENT_IP_HEADER=%q: want a header name such as X-Forwarded-For", h))
		}
		c.ClientIPHeader = h
	}
	if c.MetricsAddr = get("CAREWALLET_METRICS_ADDR", ""); c.MetricsAddr != "" {
		_, port, err := net.SplitHostPort(c.MetricsAddr)
		_, apiPort, _ := net.SplitHostPort(c.Addr)
		switch {
		case err != nil || port == "":
			errs = append(errs, fmt.Errorf("CAREWALLET_METRICS_ADDR=%q: want host:port such as 127.0.0.1:9090", c.MetricsAddr))
		case port == apiPort && port != "0":
			errs = append(errs, fmt.Errorf("CAREWALLET_METRICS_ADDR=%q: must not use the API's port (CAREWALLET_ADDR=%q): metrics are never served on the public port", c.MetricsAddr, c.Addr))
		}
	}
	if v := get("CAREWALLET_CORS_ORIGINS", ""); v != "" {
		for _, o := range strings.Split(v, ",") {
			o = strings.TrimSpace(o)
			if !validOrigin(o) {
				errs = append(errs, fmt.Errorf("CAREWALLET_CORS_ORIGINS: %q is not an origin such as https://app.example.com (scheme and host, optional port, no path or wildcard; comma-separated)", o))
				continue
			}
			c.CORSOrigins = append(c.CORSOrigins, o)
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

// validPrefix accepts "+" and 1 to 15 digits, the first not 0.
func validPrefix(p string) bool {
	d, ok := strings.CutPrefix(p, "+")
	if !ok || len(d) < 1 || len(d) > 15 || d[0] == '0' {
		return false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// validOrigin accepts what a browser sends in Origin: http or https, a
// host, an optional port, and nothing else.
func validOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return false
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.ContainsAny(u.Host, "*") {
		return false
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	return u.Hostname() != "" && o == u.Scheme+"://"+u.Host
}
