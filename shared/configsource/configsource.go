// Package configsource owns where the webhook's configuration comes from: a
// file, an inline environment variable, or an AWS Systems Manager Parameter
// Store parameter (normally a SecureString, so bearer tokens never sit in the
// Lambda environment or the CloudFormation template).
//
// Exactly one of the three environment variables below must be set. The
// package returns the raw bytes and a human-readable origin; parsing is
// shared/config's job. No error message ever contains the configuration
// itself, since it may hold endpoint bearer tokens.
package configsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Environment variables read by Load. They are a contract with
// template.yaml and the function: exactly one must be non-empty.
const (
	// EnvFile names a local file holding the YAML or JSON configuration.
	EnvFile = "TOKENREVIEW_CONFIG_FILE"
	// EnvInline holds the YAML or JSON configuration itself.
	EnvInline = "TOKENREVIEW_CONFIG"
	// EnvParameter names an SSM Parameter Store parameter (name or ARN)
	// holding the configuration; it is read with decryption.
	EnvParameter = "TOKENREVIEW_CONFIG_PARAMETER"
)

// DefaultTimeout bounds loading the AWS configuration and the GetParameter
// call. Lambda's INIT phase is capped at 10s and the keys still have to be
// prefetched after the configuration is read.
const DefaultTimeout = 5 * time.Second

// ErrNoSource is returned (wrapped) when none of the variables is set.
var ErrNoSource = errors.New("no configuration source")

// SSMGetter is the one SSM call this package makes; *ssm.Client satisfies it.
type SSMGetter interface {
	GetParameter(ctx context.Context, params *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// Loader reads the configuration. The zero value is ready to use: it builds
// an SSM client from the default AWS configuration chain when needed.
type Loader struct {
	// SSM, when set, is used instead of a client built from
	// config.LoadDefaultConfig.
	SSM SSMGetter
	// Timeout bounds the SSM path (default DefaultTimeout).
	Timeout time.Duration
	// ReadFile reads EnvFile's path (default os.ReadFile).
	ReadFile func(path string) ([]byte, error)
}

// Load reads the configuration with a zero Loader: see Loader.Load.
func Load(ctx context.Context, getenv func(string) string) (data []byte, origin string, err error) {
	return Loader{}.Load(ctx, getenv)
}

// Load returns the configuration bytes and where they came from
// ("file:<path>", "env:TOKENREVIEW_CONFIG" or "ssm:<name>"). It fails when
// no variable or more than one is set, when the source cannot be read, and
// when the configuration read is empty.
func (l Loader) Load(ctx context.Context, getenv func(string) string) (data []byte, origin string, err error) {
	var set []string
	for _, name := range []string{EnvFile, EnvInline, EnvParameter} {
		if strings.TrimSpace(getenv(name)) != "" {
			set = append(set, name)
		}
	}
	switch len(set) {
	case 0:
		return nil, "", fmt.Errorf("configsource: %w: set exactly one of %s, %s or %s",
			ErrNoSource, EnvFile, EnvInline, EnvParameter)
	case 1:
	default:
		return nil, "", fmt.Errorf("configsource: %s are all set; set exactly one", strings.Join(set, ", "))
	}

	switch set[0] {
	case EnvFile:
		data, origin, err = l.loadFile(strings.TrimSpace(getenv(EnvFile)))
	case EnvInline:
		data, origin = []byte(getenv(EnvInline)), "env:"+EnvInline
	default:
		data, origin, err = l.loadParameter(ctx, strings.TrimSpace(getenv(EnvParameter)))
	}
	if err != nil {
		return nil, origin, err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, origin, fmt.Errorf("configsource: the configuration from %s is empty", origin)
	}
	return data, origin, nil
}

func (l Loader) loadFile(path string) ([]byte, string, error) {
	origin := "file:" + path
	read := l.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	data, err := read(path)
	if err != nil {
		// The *PathError names the path; it never holds file contents.
		return nil, origin, fmt.Errorf("configsource: reading %s (from %s): %w", path, EnvFile, err)
	}
	return data, origin, nil
}

func (l Loader) loadParameter(ctx context.Context, name string) ([]byte, string, error) {
	origin := "ssm:" + name
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	client := l.SSM
	if client == nil {
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, origin, fmt.Errorf("configsource: loading the AWS configuration to read SSM parameter %q: %w", name, err)
		}
		client = ssm.NewFromConfig(cfg)
	}

	out, err := client.GetParameter(ctx, &ssm.GetParameterInput{
		Name:           aws.String(name),
		WithDecryption: aws.Bool(true),
	})
	if err != nil {
		return nil, origin, parameterError(name, err)
	}
	if out == nil || out.Parameter == nil || out.Parameter.Value == nil {
		return nil, origin, fmt.Errorf("configsource: SSM parameter %q has no value", name)
	}
	return []byte(*out.Parameter.Value), origin, nil
}

// parameterError says which parameter and what failed. SDK errors carry the
// operation, status and request id, never the parameter's value.
func parameterError(name string, err error) error {
	var notFound *ssmtypes.ParameterNotFound
	var badVersion *ssmtypes.ParameterVersionNotFound
	switch {
	case errors.As(err, &notFound):
		return fmt.Errorf("configsource: SSM parameter %q not found (check %s and the region): %w", name, EnvParameter, err)
	case errors.As(err, &badVersion):
		return fmt.Errorf("configsource: SSM parameter %q: version not found: %w", name, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("configsource: reading SSM parameter %q timed out: %w", name, err)
	default:
		return fmt.Errorf("configsource: reading SSM parameter %q (needs ssm:GetParameter and kms:Decrypt): %w", name, err)
	}
}
