package node

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certCheckInterval is how often, at most, a certFiles looks at its files
// again.
const certCheckInterval = time.Second

// certFiles is a certificate and key read from PEM files, and read again
// when either file changes (a renewal): a TLS listener's GetCertificate.
// A renewal that does not load (a key written before its certificate,
// say) leaves the certificate in use as it is until the files agree.
type certFiles struct {
	certFile, keyFile string

	mu      sync.Mutex
	checked time.Time // when the files were last looked at
	stamp   string    // the files' sizes and times when last loaded
	cert    *tls.Certificate
}

// loadCertFiles reads certFile and keyFile.
func loadCertFiles(certFile, keyFile string) (*certFiles, error) {
	c := &certFiles{certFile: certFile, keyFile: keyFile}
	stamp, err := c.stamped()
	if err != nil {
		return nil, err
	}
	if err := c.load(stamp); err != nil {
		return nil, err
	}
	c.checked = time.Now()
	return c, nil
}

// stamped is the files' sizes and modification times.
func (c *certFiles) stamped() (string, error) {
	var s string
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("certificate files: %w", err)
		}
		s += fmt.Sprintf("%d@%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}

func (c *certFiles) load(stamp string) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("certificate files: %w", err)
	}
	c.cert, c.stamp = &cert, stamp
	return nil
}

// GetCertificate is the certificate, read again first if the files
// changed since it was read (looked at once a second at most).
func (c *certFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= certCheckInterval {
		c.checked = now
		if stamp, err := c.stamped(); err == nil && stamp != c.stamp {
			_ = c.load(stamp) // a half-written renewal: keep the one in use
		}
	}
	return c.cert, nil
}
