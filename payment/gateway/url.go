package gateway

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// checkURL says whether raw may carry card data to a gateway: an absolute
// https:// URL with a host, or http:// to a loopback address or localhost
// (a local test double such as stripe-mock, where nothing crosses a
// network), with no user name or password. who names the connector in the
// error, which wraps ErrConfig and never repeats the URL (it could hold a
// credential).
func checkURL(who, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %s's URL does not parse; give an absolute https:// URL", ErrConfig, who)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%w: %s's URL must be an absolute https:// URL with a host", ErrConfig, who)
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		return fmt.Errorf("%w: %s's URL must start with https:// (card data never travels over plain HTTP; http:// is only for a loopback address or localhost)", ErrConfig, who)
	case u.User != nil:
		return fmt.Errorf("%w: %s's URL must carry no user name or password", ErrConfig, who)
	}
	return nil
}

// loopbackHost reports whether host (a URL's host name, without brackets
// or port) is localhost or a loopback address.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
