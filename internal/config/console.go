package config

import (
	"net"
	"net/netip"
	"os"
	"regexp"
	"strings"
)

// ConsoleCredentials are the access key the console asks of every request
// when set: HTTP Basic with the access key id as user and the secret as
// password, or an AWS Signature Version 4 made with them (the aws CLI and
// SDKs with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set to them, any
// region, signing name elasticloadbalancing or elasticbeanstalk). The secret is given inline or, so that it need not sit in the
// file, by the name of an environment variable that holds it.
type ConsoleCredentials struct {
	AccessKeyID string `yaml:"access_key_id"`
	// SecretAccessKey is the secret itself; prefer SecretAccessKeyEnv.
	SecretAccessKey string `yaml:"secret_access_key,omitempty"`
	// SecretAccessKeyEnv names the environment variable holding the secret,
	// read when the file is loaded.
	SecretAccessKeyEnv string `yaml:"secret_access_key_env,omitempty"`

	// secret is the secret in effect, from either source.
	secret string
}

// Secret is the secret access key in effect (inline or from the environment).
func (c *ConsoleCredentials) Secret() string { return c.secret }

// masked is what `elbow validate --print` shows in place of a secret.
const masked = "********"

// MarshalYAML prints the secret masked: `elbow validate --print` output is
// shared in bug reports and terminals.
func (c ConsoleCredentials) MarshalYAML() (any, error) {
	type plain ConsoleCredentials
	p := plain(c)
	if p.SecretAccessKey != "" {
		p.SecretAccessKey = masked
	}
	return p, nil
}

// accessKeyID is IAM's AccessKeyId: 16 to 128 word characters
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_AccessKey.html).
var accessKeyID = regexp.MustCompile(`^\w{16,128}$`)

// LoopbackAddress reports whether a host:port address listens on loopback
// only: a host that is an IP in 127.0.0.0/8 or ::1, or localhost. An empty
// host listens on every interface.
func LoopbackAddress(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func (c *Console) validate(v *validator) {
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		v.add("console.address", "%q is not a host:port address, such as 127.0.0.1:8099", c.Address)
	} else if c.Credentials == nil && !LoopbackAddress(c.Address) {
		v.add("console.address", "%q listens beyond loopback, where any machine that reaches it could change the environment: "+
			"set console.credentials (access_key_id, and secret_access_key_env naming the variable that holds the secret), "+
			"or listen on 127.0.0.1", c.Address)
	}
	cr := c.Credentials
	if cr == nil {
		return
	}
	if cr.AccessKeyID == "" {
		v.add("console.credentials.access_key_id", "missing: credentials need both an access key id and a secret, or neither")
	} else if !accessKeyID.MatchString(cr.AccessKeyID) {
		v.add("console.credentials.access_key_id", "%q is not an access key id: 16 to 128 letters, digits or underscores, such as AKIAIOSFODNN7EXAMPLE", cr.AccessKeyID)
	}
	switch {
	case cr.SecretAccessKey != "" && cr.SecretAccessKeyEnv != "":
		v.add("console.credentials", "give one of secret_access_key or secret_access_key_env, not both")
	case cr.SecretAccessKey != "":
		cr.secret = cr.SecretAccessKey
	case cr.SecretAccessKeyEnv != "":
		cr.secret = os.Getenv(cr.SecretAccessKeyEnv)
		if cr.secret == "" {
			v.add("console.credentials.secret_access_key_env", "the environment variable %s is not set or empty: set it to the secret access key", cr.SecretAccessKeyEnv)
		}
	default:
		v.add("console.credentials", "missing secret: give secret_access_key_env (the name of an environment variable holding the secret) or secret_access_key")
	}
}
