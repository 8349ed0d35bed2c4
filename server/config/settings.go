package config

// This file holds the table of settings: each one's flag, environment
// variable, config-file key, default, help and how its value is checked.

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hushphone/hushphone/media/mask"
)

// Settings is the table: every setting the server reads.
var Settings = []Setting{
	{
		Name: "http", Env: "HUSHPHONE_HTTP", Arg: "ADDR", Default: "127.0.0.1:8080",
		Usage: "where the HTTP API listens (host:port; port 0 picks a free one)",
		set: func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("%w: %q is not host:port, e.g. 127.0.0.1:8080", ErrBadValue, v)
			}
			c.HTTP = v
			return nil
		},
	},
	{
		Name: "tls-cert", Env: "HUSHPHONE_TLS_CERT", Arg: "FILE", Default: "",
		Usage: "the HTTPS certificate (PEM, the chain from the server's own certificate up); with tls-key the API and the WebSocket are HTTPS and WSS on the http address, and SIP over TLS uses it too unless sip-tls-cert is set; both files are read again when they change (empty: none)",
		set: func(c *Config, v string) error {
			c.TLSCert = v
			return nil
		},
	},
	{
		Name: "tls-key", Env: "HUSHPHONE_TLS_KEY", Arg: "FILE", Default: "",
		Usage: "the certificate's private key (PEM; its owner's alone to read)",
		set: func(c *Config, v string) error {
			c.TLSKey = v
			return nil
		},
	},
	{
		Name: "acme-domain", Env: "HUSHPHONE_ACME_DOMAIN", Arg: "NAMES", Default: "",
		Usage: "get and renew the HTTPS certificate from an ACME CA (Let's Encrypt unless acme-ca says otherwise) for these DNS names, comma-separated; the CA checks them over TLS-ALPN-01 on port 443, which must reach the http address (empty: none)",
		set: func(c *Config, v string) error {
			c.ACMEDomains = nil
			for _, d := range strings.Split(v, ",") {
				d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
				if d == "" {
					continue
				}
				if !dnsName(d) {
					return fmt.Errorf("%w: %q is not a DNS name (no addresses, no wildcards), e.g. hushphone.example.com", ErrBadValue, d)
				}
				c.ACMEDomains = append(c.ACMEDomains, d)
			}
			return nil
		},
	},
	{
		Name: "acme-email", Env: "HUSHPHONE_ACME_EMAIL", Arg: "ADDR", Default: "",
		Usage: "the e-mail address the ACME CA may write to about the certificates (required with acme-domain)",
		set: func(c *Config, v string) error {
			if user, host, ok := strings.Cut(v, "@"); v != "" && (!ok || user == "" || !strings.Contains(host, ".") || strings.ContainsAny(v, " \t<>,")) {
				return fmt.Errorf("%w: %q is not an e-mail address, e.g. ops@example.com", ErrBadValue, v)
			}
			c.ACMEEmail = v
			return nil
		},
	},
	{
		Name: "acme-ca", Env: "HUSHPHONE_ACME_CA", Arg: "URL", Default: LetsEncrypt,
		Usage: "the ACME CA's directory URL (https://), e.g. Let's Encrypt's staging CA for trials or a private CA",
		set: func(c *Config, v string) error {
			if !strings.HasPrefix(v, "https://") || len(v) <= len("https://") {
				return fmt.Errorf("%w: acme-ca %q is not an https:// URL", ErrBadValue, v)
			}
			c.ACMECA = v
			return nil
		},
	},
	{
		Name: "acme-ca-root", Env: "HUSHPHONE_ACME_CA_ROOT", Arg: "FILE", Default: "",
		Usage: "CA certificates (PEM) to trust for the ACME CA's own HTTPS, for a private CA (empty: the system's)",
		set: func(c *Config, v string) error {
			c.ACMECARoot = v
			return nil
		},
	},
	{
		Name: "insecure-http", Env: "HUSHPHONE_INSECURE_HTTP", Switch: true, Default: "false",
		Usage: "serve plain HTTP on an http address that is not loopback (passwords, tokens and the agents' media keys then cross the network in clear: only behind a TLS proxy); without it serve refuses to start there without tls-cert and tls-key or acme-domain",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%w: %q: use true or false", ErrBadValue, v)
			}
			c.InsecureHTTP = b
			return nil
		},
	},
	{
		Name: "metrics", Env: "HUSHPHONE_METRICS", Arg: "ADDR", Default: "127.0.0.1:9464",
		Usage: "where /metrics (Prometheus) listens, apart from the API (host:port; port 0 picks a free one); an address that is not loopback needs metrics-token",
		set: func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("%w: %q is not host:port, e.g. 127.0.0.1:9464", ErrBadValue, v)
			}
			c.Metrics = v
			return nil
		},
	},
	{
		Name: "metrics-token", Env: "HUSHPHONE_METRICS_TOKEN", Arg: "FILE", Default: "",
		Usage: "the file holding a bearer token (at least 16 characters) that /metrics then requires (Authorization: Bearer TOKEN); kept out of flags so it is not in the process list (empty: none)",
		set: func(c *Config, v string) error {
			c.MetricsToken = v
			return nil
		},
	},
	{
		Name: "sip", Env: "HUSHPHONE_SIP", Arg: "ADDR", Default: "127.0.0.1:5060",
		Usage: "where SIP trunks reach the server, over UDP and TCP (host:port)",
		set: func(c *Config, v string) error {
			if _, port, err := net.SplitHostPort(v); err != nil || port == "" || port == "0" {
				return fmt.Errorf("%w: %q is not host:port with a port, e.g. 127.0.0.1:5060", ErrBadValue, v)
			}
			c.SIP = v
			return nil
		},
	},
	{
		Name: "sip-tls", Env: "HUSHPHONE_SIP_TLS", Arg: "ADDR", Default: "",
		Usage: "where SIP trunks reach the server over TLS (host:port, e.g. 0.0.0.0:5061; empty: no SIP over TLS), with the certificate of --sip-tls-cert and --sip-tls-key, else --tls-cert and --tls-key",
		set: func(c *Config, v string) error {
			if v != "" {
				if _, port, err := net.SplitHostPort(v); err != nil || port == "" || port == "0" {
					return fmt.Errorf("%w: %q is not host:port with a port, e.g. 127.0.0.1:5061", ErrBadValue, v)
				}
			}
			c.SIPTLS = v
			return nil
		},
	},
	{
		Name: "sip-tls-cert", Env: "HUSHPHONE_SIP_TLS_CERT", Arg: "FILE", Default: "",
		Usage: "the certificate (PEM, with its chain) for SIP over TLS, if not --tls-cert's",
		set:   func(c *Config, v string) error { c.SIPTLSCert = v; return nil },
	},
	{
		Name: "sip-tls-key", Env: "HUSHPHONE_SIP_TLS_KEY", Arg: "FILE", Default: "",
		Usage: "the private key (PEM) of --sip-tls-cert",
		set:   func(c *Config, v string) error { c.SIPTLSKey = v; return nil },
	},
	{
		Name: "sip-tls-ca", Env: "HUSHPHONE_SIP_TLS_CA", Arg: "FILE", Default: "",
		Usage: "the certificate authorities (PEM) an outbound trunk over TLS (--trunk-out sips:HOST:PORT) must have its certificate from (empty: the system's)",
		set:   func(c *Config, v string) error { c.SIPTLSCA = v; return nil },
	},
	{
		Name: "trunk-srtp", Env: "HUSHPHONE_TRUNK_SRTP", Arg: "POLICY", Default: "optional",
		Usage: "SRTP with SDES keys (RFC 4568) on the trunk: off (plain RTP only; SRTP offers get 488), optional (SRTP offers answered with SRTP, plain with plain; outbound calls offer SRTP over TLS) or required (plain RTP offers get 488; outbound calls offer SRTP only)",
		set: func(c *Config, v string) error {
			switch v {
			case "off", "optional", "required":
				c.TrunkSRTP = v
				return nil
			}
			return fmt.Errorf("%w: trunk-srtp %q: use off, optional or required", ErrBadValue, v)
		},
	},
	{
		Name: "sip-idle-timeout", Env: "HUSHPHONE_SIP_IDLE_TIMEOUT", Arg: "DURATION", Default: "2m",
		Usage: "how long a SIP connection over TCP or TLS may say nothing before it is closed (kept while a call that came over it is up)",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second {
				return fmt.Errorf("%w: %q is not a duration of a second or more, e.g. 2m", ErrBadValue, v)
			}
			c.SIPIdleTimeout = d
			return nil
		},
	},
	{
		Name: "sip-advertise", Env: "HUSHPHONE_SIP_ADVERTISE", Arg: "ADDR", Default: "",
		Usage: "the host:port SIP peers reach the server at, named in our Contact: for --sip bound to every address (0.0.0.0) or behind a NAT (empty: the --sip address, or --media-ip with the --sip port when that binds every address)",
		set: func(c *Config, v string) error {
			if v != "" {
				host, port, err := net.SplitHostPort(v)
				n, perr := strconv.Atoi(port)
				a, aerr := netip.ParseAddr(host)
				if err != nil || perr != nil || host == "" || n < 1 || n > 65535 || (aerr == nil && a.IsUnspecified()) {
					return fmt.Errorf("%w: %q is not host:port of a reachable host, e.g. sip.example.net:5060", ErrBadValue, v)
				}
			}
			c.SIPAdvertise = v
			return nil
		},
	},
	{
		Name: "ringback", Env: "HUSHPHONE_RINGBACK", Arg: "TONE", Default: "uk",
		Usage: "early media for callers waiting for an agent (183 with the tone, then 200): uk (400+450 Hz), us (440+480 Hz) or off (180 Ringing only, for peers that do not take 183)",
		set: func(c *Config, v string) error {
			switch v {
			case "uk", "us", "off":
				c.Ringback = v
				return nil
			}
			return fmt.Errorf("%w: ringback %q: use uk, us or off", ErrBadValue, v)
		},
	},
	{
		Name: "trunk-auth", Env: "HUSHPHONE_TRUNK_AUTH", Arg: "FILE", Default: "",
		Usage: "SIP digest credentials, one 'in|out REALM USER PASSWORD' a line: 'in' ones trunks must prove (401 otherwise), 'out' ones we prove to --trunk-out (empty: none); the file's mode must be 0600 or 0400",
		set: func(c *Config, v string) error {
			c.TrunkAuth = v
			return nil
		},
	},
	{
		Name: "trunk-out", Env: "HUSHPHONE_TRUNK_OUT", Arg: "ADDR", Default: "",
		Usage: "the outbound SIP trunk that outbound calls go to (host:port, or sips:host:port over TLS, which needs --sip-tls; empty: no outbound calls)",
		set: func(c *Config, v string) error {
			if v != "" {
				hostPort := strings.TrimPrefix(v, "sips:")
				if host, port, err := net.SplitHostPort(hostPort); err != nil || host == "" || port == "" || port == "0" {
					return fmt.Errorf("%w: %q is not host:port or sips:host:port with a port, e.g. sip.example.net:5060", ErrBadValue, v)
				}
			}
			c.TrunkOut = v
			return nil
		},
	},
	{
		Name: "trunk-out-from", Env: "HUSHPHONE_TRUNK_OUT_FROM", Arg: "NUMBER", Default: "",
		Usage: "the number outbound calls present to the outbound trunk (digits, optional leading +; empty: 'hushphone')",
		set: func(c *Config, v string) error {
			for i, r := range v {
				if (r < '0' || r > '9') && (r != '+' || i != 0) || len(v) > 32 {
					return fmt.Errorf("%w: %q is not a number: digits, with an optional leading +", ErrBadValue, v)
				}
			}
			c.TrunkFrom = v
			return nil
		},
	},
	{
		Name: "trunk-allow", Env: "HUSHPHONE_TRUNK_ALLOW", Arg: "CIDRS", Default: "127.0.0.0/8,::1/128",
		Usage: "the addresses SIP trunks may call from, comma-separated (an address or a CIDR range); INVITEs from elsewhere get 403",
		set: func(c *Config, v string) error {
			c.TrunkAllow = nil
			for _, f := range listItems(v) {
				p, err := netip.ParsePrefix(f)
				if err != nil {
					a, aerr := netip.ParseAddr(f)
					if aerr != nil {
						return fmt.Errorf("%w: %q is not an address or a CIDR range, e.g. 192.0.2.0/24", ErrBadValue, f)
					}
					p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
				}
				c.TrunkAllow = append(c.TrunkAllow, p.Masked())
			}
			if len(c.TrunkAllow) == 0 {
				return fmt.Errorf("%w: no address: name at least one (127.0.0.1 for loopback only)", ErrBadValue)
			}
			return nil
		},
	},
	{
		Name: "rtp-ports", Env: "HUSHPHONE_RTP_PORTS", Arg: "MIN-MAX", Default: "",
		Usage: "the UDP ports calls' media may use, for firewalls: the SIP side's RTP and RTCP and the agents' WebRTC (e.g. 10000-20000, at least 4 ports a call; empty: any)",
		set: func(c *Config, v string) error {
			c.RTPPortMin, c.RTPPortMax = 0, 0
			if v == "" {
				return nil
			}
			lo, hi, ok := strings.Cut(v, "-")
			a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
			b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
			if !ok || err1 != nil || err2 != nil || a < 1024 || b < a+3 {
				return fmt.Errorf("%w: %q is not a port range MIN-MAX of at least 4 ports above 1023, e.g. 10000-20000", ErrBadValue, v)
			}
			c.RTPPortMin, c.RTPPortMax = uint16(a), uint16(b)
			return nil
		},
	},
	{
		Name: "rtp-timeout", Env: "HUSHPHONE_RTP_TIMEOUT", Arg: "DURATION", Default: "60s",
		Usage: "end a call with BYE after this long without RTP or RTCP from the caller while it is not on hold: a caller that vanished without BYE (0: never)",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || (d > 0 && d < time.Second) {
				return fmt.Errorf("%w: %q is not a duration of a second or more (or 0 for never), e.g. 60s", ErrBadValue, v)
			}
			c.RTPTimeout = d
			return nil
		},
	},
	{
		Name: "mask-lookahead", Env: "HUSHPHONE_MASK_LOOKAHEAD", Arg: "DURATION", Default: "20ms",
		Usage: "how long the Masker holds the caller's audio to find key presses in it (20ms to 50ms in steps of 5ms): longer masks more of a key press begun under loud speech, and delays every call that much more",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err == nil {
				err = mask.CheckLookahead(d)
			}
			if err != nil {
				return fmt.Errorf("%w: %q is not a look-ahead of 20ms to 50ms in steps of 5ms, e.g. 20ms", ErrBadValue, v)
			}
			c.MaskLookahead = d
			return nil
		},
	},
	{
		Name: "media-ip", Env: "HUSHPHONE_MEDIA_IP", Arg: "IP", Default: "",
		Usage: "the address the SIP side's RTP is bound to and advertised in SDP (empty: the --sip host, or 127.0.0.1 if that is not one address)",
		set: func(c *Config, v string) (err error) {
			c.MediaIP, err = oneIP(v, "192.0.2.10")
			return err
		},
	},
	{
		Name: "public-ip", Env: "HUSHPHONE_PUBLIC_IP", Arg: "IP", Default: "",
		Usage: "the public address agents reach the server's WebRTC at, when it sits behind a 1:1 NAT (empty: its own addresses)",
		set: func(c *Config, v string) (err error) {
			c.PublicIP, err = oneIP(v, "203.0.113.7")
			return err
		},
	},
	{
		Name: "gateway", Env: "HUSHPHONE_GATEWAY", Arg: "NAME", Default: "sandbox",
		Usage: "the payment gateway: sandbox (embedded, deterministic test cards, no account needed), stripe (--gateway-secret holds the secret key) or generic (a JSON request signed with HMAC to --gateway-url; see payment/gateway/README.md)",
		set: func(c *Config, v string) error {
			switch v {
			case "sandbox", "stripe", "generic":
				c.Gateway = v
				return nil
			}
			return fmt.Errorf("%w: gateway %q: use sandbox, stripe or generic", ErrBadValue, v)
		},
	},
	{
		Name: "gateway-url", Env: "HUSHPHONE_GATEWAY_URL", Arg: "URL", Default: "",
		Usage: "the gateway's address: for generic the processor's https:// endpoint (required); for stripe the API base (empty: Stripe's own); https:// only (http:// to a loopback address or localhost aside)",
		set: func(c *Config, v string) error {
			if v != "" && !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
				return fmt.Errorf("%w: gateway-url %q is not an http(s) URL", ErrBadValue, v)
			}
			c.GatewayURL = v
			return nil
		},
	},
	{
		Name: "gateway-secret", Env: "HUSHPHONE_GATEWAY_SECRET", Arg: "FILE", Default: "",
		Usage: "the file holding the gateway's secret (stripe: the secret key; generic: the HMAC key, at least 32 bytes); kept out of flags so it is not in the process list; mode 0600 or 0400, as for trunk-auth",
		set: func(c *Config, v string) error {
			c.GatewaySecret = v
			return nil
		},
	},
	{
		Name: "data", Env: "HUSHPHONE_DATA", Arg: "DIR", Default: "data",
		Usage: "the data directory (database, recordings); created if missing",
		set: func(c *Config, v string) error {
			if v == "" {
				return fmt.Errorf("%w: empty; name a directory", ErrBadValue)
			}
			c.DataDir = v
			return nil
		},
	},
	{
		Name: "session-ttl", Env: "HUSHPHONE_SESSION_TTL", Arg: "DURATION", Default: "12h",
		Usage: "how long a sign-in lasts (e.g. 8h, 30m)",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Minute {
				return fmt.Errorf("%w: %q is not a duration of a minute or more, e.g. 12h", ErrBadValue, v)
			}
			c.SessionTTL = d
			return nil
		},
	},
	{
		Name: "max-calls", Env: "HUSHPHONE_MAX_CALLS", Arg: "N", Default: "auto",
		Usage: "the most calls from trunks up at once (waiting or talking; agents' outbound calls aside); a new caller past it gets 503 Service Unavailable (auto: 100 per CPU core, at least 50)",
		set: func(c *Config, v string) error {
			if v == "auto" {
				c.MaxCalls = 0
				return nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 100000 {
				return fmt.Errorf("%w: %q: a number of calls from 1 to 100000, or auto", ErrBadValue, v)
			}
			c.MaxCalls = n
			return nil
		},
	},
	{
		Name: "invite-rate", Env: "HUSHPHONE_INVITE_RATE", Arg: "N", Default: "20",
		Usage: "how many new calls a second one trunk address may start, with bursts of twice that; past it, 503 with Retry-After (0: no limit)",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100000 {
				return fmt.Errorf("%w: %q: calls a second from 0 (no limit) to 100000", ErrBadValue, v)
			}
			c.InviteRate = n
			return nil
		},
	},
	{
		Name: "max-queue-wait", Env: "HUSHPHONE_MAX_QUEUE_WAIT", Arg: "DURATION", Default: "10m",
		Usage: "the longest a caller waits for an agent; then a short busy tone and BYE (0: as long as it takes)",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || (d > 0 && d < 10*time.Second) || d > 24*time.Hour {
				return fmt.Errorf("%w: %q: a duration from 10s to 24h, e.g. 10m, or 0 for no limit", ErrBadValue, v)
			}
			c.MaxQueueWait = d
			return nil
		},
	},
	{
		Name: "mfa-agents", Env: "HUSHPHONE_MFA_AGENTS", Arg: "WHEN", Default: "optional",
		Usage: "whether agents need a second factor (a code from an authenticator app, enrolled with 'user mfa enroll') to sign in: optional (only those enrolled) or required; supervisors and admins always need one",
		set: func(c *Config, v string) error {
			switch v {
			case "optional", "required":
				c.MFAAgents = v == "required"
				return nil
			}
			return fmt.Errorf("%w: mfa-agents %q: use optional or required", ErrBadValue, v)
		},
	},
	{
		Name: "allowed-origins", Env: "HUSHPHONE_ALLOWED_ORIGINS", Arg: "ORIGINS", Default: "",
		Usage: "web pages served elsewhere that may use the API and the WebSocket from a browser, comma-separated origins (https://console.example.com, http://127.0.0.1:5173); empty: the server's own pages only",
		set: func(c *Config, v string) error {
			c.AllowedOrigins = nil
			for _, f := range listItems(v) {
				u, err := url.Parse(f)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
					return fmt.Errorf("%w: %q is not an origin: scheme://host[:port], e.g. https://console.example.com", ErrBadValue, f)
				}
				c.AllowedOrigins = append(c.AllowedOrigins, u.Scheme+"://"+strings.ToLower(u.Host))
			}
			return nil
		},
	},
	{
		Name: "log-level", Env: "HUSHPHONE_LOG_LEVEL", Arg: "LEVEL", Default: "info",
		Usage: "how much the server logs: debug, info, warn or error",
		set: func(c *Config, v string) error {
			if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
				return fmt.Errorf("%w: %q: use debug, info, warn or error", ErrBadValue, v)
			}
			return nil
		},
	},
}

// listItems are a comma-separated setting's items, trimmed, empty ones left
// out.
func listItems(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
