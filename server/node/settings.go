package node

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"

	"github.com/hushphone/hushphone/payment/card"
	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/trunk"
)

// Errors New returns when the settings do not fit together; they name the
// settings (as config.Settings does: the same name is the flag, the
// config-file key and, upper-cased, the environment variable).
var (
	// ErrMediaIP: the SIP side's RTP address cannot be worked out.
	ErrMediaIP = errors.New("with the sip setting on a name or on every address, set media-ip to the address trunks send RTP to")
	// ErrGateway: the gateway settings do not fit together.
	ErrGateway = errors.New("gateway settings")
	// ErrSIPTLS: the settings of SIP over TLS do not fit together, or its
	// files cannot be read.
	ErrSIPTLS = errors.New("SIP over TLS settings")
	// ErrSecretFile: a file holding a secret can be read by others than
	// its owner.
	ErrSecretFile = errors.New("secret file readable by others")
	// ErrSecretSize: a file holding a secret is too large to be one.
	ErrSecretSize = errors.New("secret file too large")
)

// checkSecretMode refuses a secret file that its group or others may read
// or write: the secret would be theirs too. The error names the setting
// and the file and says how to fix it; never the file's content. A file
// that cannot be found is left for its reader to report. Windows has no
// such mode bits: nothing is checked there.
func checkSecretMode(setting, path string, fi os.FileInfo) error {
	if runtime.GOOS == "windows" || fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	return fmt.Errorf("%w: the %s file %s has mode %04o, so its group or others can read it: run `chmod 600 %s` (or 400), then start again",
		ErrSecretFile, setting, path, fi.Mode().Perm(), path)
}

// readSecretFile reads the file a secret setting names, refusing it when
// its group or others can read it (checkSecretMode).
func readSecretFile(setting, path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the %s file: %w", setting, err)
	}
	defer func() { _ = fh.Close() }()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading the %s file: %w", setting, err)
	}
	if err := checkSecretMode(setting, path, fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(fh, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading the %s file: %w", setting, err)
	}
	if len(b) > maxSecretFile {
		card.Zero(b)
		return nil, fmt.Errorf("%w: the %s file %s is over %d bytes: it should hold one secret", ErrSecretSize, setting, path, maxSecretFile)
	}
	return b, nil
}

// maxSecretFile bounds a secret file's size.
const maxSecretFile = 64 << 10

// mediaIP is where the SIP side's RTP is bound and advertised: the
// media-ip setting, else the sip setting's host, which must then be one
// address.
func mediaIP(cfg config.Config) (netip.Addr, error) {
	if cfg.MediaIP.IsValid() {
		return cfg.MediaIP, nil
	}
	host, _, err := net.SplitHostPort(cfg.SIP)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: sip %q: %w", ErrMediaIP, cfg.SIP, err)
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.IsUnspecified() {
		return netip.Addr{}, ErrMediaIP
	}
	return a.Unmap(), nil
}

// newGateway builds the payment gateway connector the settings name.
func newGateway(cfg config.Config) (gateway.Connector, error) {
	secret := func() ([]byte, error) {
		if cfg.GatewaySecret == "" {
			return nil, fmt.Errorf("%w: gateway %s needs gateway-secret, the file holding its secret", ErrGateway, cfg.Gateway)
		}
		b, err := readSecretFile("gateway-secret", cfg.GatewaySecret)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrGateway, err)
		}
		return bytes.TrimSpace(b), nil
	}
	switch cfg.Gateway {
	case "stripe":
		key, err := secret()
		if err != nil {
			return nil, err
		}
		var opts []gateway.StripeOption
		if cfg.GatewayURL != "" {
			opts = append(opts, gateway.WithStripeURL(cfg.GatewayURL))
		}
		s, err := gateway.NewStripe(string(key), opts...)
		card.Zero(key)
		if err != nil {
			return nil, fmt.Errorf("%w: gateway-url: %w", ErrGateway, err)
		}
		return s, nil
	case "generic":
		key, err := secret()
		if err != nil {
			return nil, err
		}
		if cfg.GatewayURL == "" {
			return nil, fmt.Errorf("%w: gateway generic needs gateway-url, the processor's https:// address", ErrGateway)
		}
		g, err := gateway.NewGeneric(gateway.GenericConfig{URL: cfg.GatewayURL, Secret: key})
		card.Zero(key)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrGateway, err)
		}
		return g, nil
	default:
		return gateway.NewSandbox(), nil
	}
}

// trunkConfig is the SIP trunk's configuration from the settings; OnCall
// and the logger are the node's to add.
func trunkConfig(cfg config.Config, log *slog.Logger) (trunk.Config, error) {
	rtpIP, err := mediaIP(cfg)
	if err != nil {
		return trunk.Config{}, err
	}
	tc := trunk.Config{
		SIPAddr: cfg.SIP, Advertise: cfg.SIPAdvertise, RTPTimeout: cfg.RTPTimeout, Outbound: cfg.TrunkOut, OutboundFrom: cfg.TrunkFrom,
		Allow: cfg.TrunkAllow, RTPAddr: rtpIP, RTPPortMin: cfg.RTPPortMin, RTPPortMax: cfg.RTPPortMax,
		MaxCalls: cfg.MaxCalls, InviteRate: cfg.InviteRate,
		TLSAddr: cfg.SIPTLS, IdleTimeout: cfg.SIPIdleTimeout, MaskLookahead: cfg.MaskLookahead,
	}
	if cfg.InviteRate == 0 {
		tc.InviteRate = -1 // the setting's 0 is no limit; the trunk's is its default
	}
	if cfg.TrunkSRTP != "" {
		if tc.SRTP, err = trunk.ParseSRTPPolicy(cfg.TrunkSRTP); err != nil {
			return trunk.Config{}, err //nolint:wrapcheck // trunk's error names the setting
		}
	}
	if tc.TLSConfig, tc.TLSRoots, err = sipTLS(cfg, log); err != nil {
		return trunk.Config{}, err
	}
	rb, on, err := trunk.RingbackByName(cfg.Ringback)
	if err != nil {
		return trunk.Config{}, err //nolint:wrapcheck // trunk's error says what is wrong
	}
	if on {
		tc.Ringback = &rb
	}
	if cfg.TrunkAuth != "" {
		// A file that is not there is trunk's to report.
		if fi, err := os.Stat(cfg.TrunkAuth); err == nil {
			if err := checkSecretMode("trunk-auth", cfg.TrunkAuth, fi); err != nil {
				return trunk.Config{}, err
			}
		}
		var out []trunk.Credential
		if tc.Auth, out, err = trunk.ReadCredentials(cfg.TrunkAuth); err != nil {
			return trunk.Config{}, err //nolint:wrapcheck // trunk's error names the file and line
		}
		if len(out) > 0 {
			tc.OutboundAuth = &out[0]
		}
	}
	return tc, nil
}

// sipTLS is SIP over TLS's certificate (sip-tls-cert and sip-tls-key,
// else tls-cert and tls-key, read again when they change, as HTTPS's
// are), when sip-tls
// is set, and the authorities an
// outbound trunk's certificate must chain to (sip-tls-ca; nil: the
// system's).
func sipTLS(cfg config.Config, log *slog.Logger) (*tls.Config, *x509.CertPool, error) {
	var roots *x509.CertPool
	if cfg.SIPTLSCA != "" {
		pem, err := os.ReadFile(cfg.SIPTLSCA)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: reading the sip-tls-ca file: %w", ErrSIPTLS, err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("%w: the sip-tls-ca file %s holds no PEM certificate", ErrSIPTLS, cfg.SIPTLSCA)
		}
	}
	if cfg.SIPTLS == "" {
		return nil, roots, nil
	}
	certFile, keyFile, names := cfg.SIPTLSCert, cfg.SIPTLSKey, "sip-tls-cert and sip-tls-key"
	if certFile == "" && keyFile == "" {
		certFile, keyFile, names = cfg.TLSCert, cfg.TLSKey, "tls-cert and tls-key"
	}
	if certFile == "" || keyFile == "" {
		return nil, nil, fmt.Errorf("%w: sip-tls needs a certificate and its key: set sip-tls-cert and sip-tls-key, or tls-cert and tls-key (%s: one is missing)", ErrSIPTLS, names)
	}
	cert := &certFiles{cert: certFile, key: keyFile, log: log, what: "SIP over TLS"}
	if err := cert.load(); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrSIPTLS, names, err)
	}
	return &tls.Config{GetCertificate: cert.get, MinVersion: tls.VersionTLS12}, roots, nil
}
