// Package s3src reads and writes RDB snapshots stored in Amazon S3 or an
// S3-compatible store, for every command that takes a file.
//
// OpenSource is the "s3://" opener a program passes in its
// source.Openers, so that its inputs may be s3://bucket/key. Reading uses parallel ranged GETs with read-ahead
// (bounded memory: Options.Concurrency chunks of Options.ChunkSize bytes in
// flight), and a transfer that breaks is resumed at the last byte received.
// Writing (Create) streams through a multipart upload; a failure aborts the
// upload and leaves no object behind.
//
// ElastiCache exports one .rdb per shard (NAME-0001.rdb, NAME-0002.rdb,
// ...): Expand and ExpandArgs turn "s3://bucket/prefix/NAME-*.rdb", or a
// prefix, into the shard objects in shard order.
//
// Credentials and region come from the standard AWS chain: environment
// variables, the shared config and credentials files and their profiles
// (AWS_PROFILE), and instance or container roles. The endpoint of an
// S3-compatible store comes from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (or
// RDBTOOL_S3_ENDPOINT), path-style addressing from RDBTOOL_S3_PATH_STYLE=1;
// commands expose both as the global flags --s3-endpoint and --s3-path-style
// (see RegisterFlags). Credentials never appear in messages.
package s3src

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Scheme is the URL prefix this package handles.
const Scheme = "s3://"

// Options configure a Store. The zero value uses the standard AWS chain
// and the defaults below.
type Options struct {
	// Endpoint is the base URL of an S3-compatible store
	// ("http://127.0.0.1:7070"). Empty: AWS_ENDPOINT_URL_S3,
	// AWS_ENDPOINT_URL, or Amazon S3 itself.
	Endpoint string
	// PathStyle addresses buckets as ENDPOINT/bucket/key rather than
	// bucket.ENDPOINT/key, as most S3-compatible stores need.
	PathStyle bool
	// Region overrides the region of the AWS chain. When neither gives
	// one, us-east-1 is used.
	Region string
	// Profile selects a shared config profile (default: AWS_PROFILE).
	Profile string
	// Credentials, when set, replace the AWS chain's credentials.
	Credentials aws.CredentialsProvider
	// HTTPClient, when set, carries every request (tests inject faults).
	HTTPClient aws.HTTPClient

	// ChunkSize is the size of each ranged GET (default 8 MiB).
	ChunkSize int64
	// Concurrency is the number of ranged GETs in flight, and of chunks
	// held in memory, per object being read (default 4).
	Concurrency int
	// Retries is how many times a chunk is re-requested after a transient
	// failure, resuming at the last byte received (default 5).
	Retries int
	// PartSize is the multipart upload part size (default 16 MiB; S3's
	// limit of 10,000 parts makes that 156 GiB at most).
	PartSize int64
	// UploadConcurrency is the number of parts uploaded at once (default 4).
	UploadConcurrency int
}

func (o Options) withDefaults() Options {
	if o.ChunkSize <= 0 {
		o.ChunkSize = 8 << 20
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Retries <= 0 {
		o.Retries = 5
	}
	if o.PartSize <= 0 {
		o.PartSize = 16 << 20
	}
	if o.UploadConcurrency <= 0 {
		o.UploadConcurrency = 4
	}
	return o
}

// Store is a configured S3 client. It is safe for concurrent use.
type Store struct {
	cli    *s3.Client
	opts   Options
	region string
}

// New loads the AWS configuration and returns a Store.
func New(ctx context.Context, o Options) (*Store, error) {
	o = o.withDefaults()
	var lo []func(*config.LoadOptions) error
	if o.Profile != "" {
		lo = append(lo, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Region != "" {
		lo = append(lo, config.WithRegion(o.Region))
	}
	if o.Credentials != nil {
		lo = append(lo, config.WithCredentialsProvider(o.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, fmt.Errorf("s3: loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	endpoint := o.Endpoint
	if endpoint == "" && cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint
	}
	custom := endpoint != ""
	cli := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		if o.HTTPClient != nil {
			so.HTTPClient = o.HTTPClient
		}
		// S3-compatible stores often reject or mis-handle the flexible
		// checksums (trailing CRC headers) that newer SDKs send by
		// default; ask for them only where an operation requires them.
		// An explicit AWS_REQUEST_CHECKSUM_CALCULATION still wins.
		if custom && os.Getenv("AWS_REQUEST_CHECKSUM_CALCULATION") == "" {
			so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		}
		if custom && os.Getenv("AWS_RESPONSE_CHECKSUM_VALIDATION") == "" {
			so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	return &Store{cli: cli, opts: o, region: cfg.Region}, nil
}

// Client returns the underlying S3 client.
func (s *Store) Client() *s3.Client { return s.cli }

// Region returns the region requests are signed for.
func (s *Store) Region() string { return s.region }

// URL is a parsed s3://bucket/key.
type URL struct {
	Bucket, Key string
}

func (u URL) String() string { return Scheme + u.Bucket + "/" + u.Key }

// ParseURL splits "s3://bucket/key". The key may be empty ("s3://bucket" or
// "s3://bucket/").
func ParseURL(s string) (URL, error) {
	if !strings.HasPrefix(s, Scheme) {
		return URL{}, fmt.Errorf("%s: not an s3:// URL", s)
	}
	rest := s[len(Scheme):]
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return URL{}, fmt.Errorf("%s: no bucket name (want s3://bucket/key)", s)
	}
	return URL{Bucket: bucket, Key: key}, nil
}

// IsURL reports whether name is an s3:// URL.
func IsURL(name string) bool { return strings.HasPrefix(name, Scheme) }

// Default options, set from the environment and by RegisterFlags' flags.
var (
	defaultMu    sync.Mutex
	defaultOpts  = optionsFromEnv()
	defaultStore *Store
)

func optionsFromEnv() Options {
	var o Options
	o.Endpoint = os.Getenv("RDBTOOL_S3_ENDPOINT")
	if v, err := strconv.ParseBool(os.Getenv("RDBTOOL_S3_PATH_STYLE")); err == nil {
		o.PathStyle = v
	}
	return o
}

// SetDefaultOptions replaces the options of the Store behind the package
// functions (Open, Create, Expand, ...). Call it before their first use, or
// the Store already made is replaced.
func SetDefaultOptions(o Options) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	defaultOpts, defaultStore = o, nil
}

// DefaultOptions returns the options of the default Store.
func DefaultOptions() Options {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	return defaultOpts
}

// Default returns the Store behind the package functions, made on first
// use from the default options.
func Default(ctx context.Context) (*Store, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if flags != nil {
		applyFlags()
		defaultStore = nil
	}
	if defaultStore != nil {
		return defaultStore, nil
	}
	s, err := New(ctx, defaultOpts)
	if err != nil {
		return nil, err
	}
	defaultStore = s
	return s, nil
}

// FlagSet is the part of *pflag.FlagSet (cobra's flags) RegisterFlags uses.
type FlagSet interface {
	StringVar(p *string, name string, value string, usage string)
	BoolVar(p *bool, name string, value bool, usage string)
}

// flagVals holds what the global flags parsed; Default reads them.
type flagVals struct {
	endpoint, region, profile string
	pathStyle                 bool
	def                       Options // the defaults the flags were registered with
}

var flags *flagVals

// RegisterFlags adds --s3-endpoint, --s3-path-style, --s3-region and
// --s3-profile to fs (cobra: root.PersistentFlags()). Their defaults come
// from the environment; values given on the command line are applied when
// the default Store is first made, so no further call is needed.
func RegisterFlags(fs FlagSet) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	f := &flagVals{def: defaultOpts}
	fs.StringVar(&f.endpoint, "s3-endpoint", defaultOpts.Endpoint, "endpoint URL of an S3-compatible store (env AWS_ENDPOINT_URL, RDBTOOL_S3_ENDPOINT)")
	fs.BoolVar(&f.pathStyle, "s3-path-style", defaultOpts.PathStyle, "path-style S3 addressing: ENDPOINT/bucket/key (env RDBTOOL_S3_PATH_STYLE=1)")
	fs.StringVar(&f.region, "s3-region", defaultOpts.Region, "S3 region (default: AWS_REGION or the profile's, else us-east-1)")
	fs.StringVar(&f.profile, "s3-profile", defaultOpts.Profile, "AWS shared config profile (default: AWS_PROFILE)")
	flags = f
	defaultStore = nil
}

// applyFlags folds parsed flag values into the default options; the
// caller holds defaultMu.
func applyFlags() {
	if flags == nil {
		return
	}
	// Only values given on the command line override options set since.
	f := flags
	if f.endpoint != f.def.Endpoint {
		defaultOpts.Endpoint = f.endpoint
	}
	if f.pathStyle != f.def.PathStyle {
		defaultOpts.PathStyle = f.pathStyle
	}
	if f.region != f.def.Region {
		defaultOpts.Region = f.region
	}
	if f.profile != f.def.Profile {
		defaultOpts.Profile = f.profile
	}
	flags = nil
}

// OpenSource is the source.Opener for s3:// URLs: objects read through
// the default Store (see Default), whose size is known. A program that
// takes s3:// inputs passes it in its source.Openers:
//
//	inputs := source.Openers{s3src.Scheme: s3src.OpenSource}
//	src, err := inputs.Open(ctx, "s3://bucket/dump.rdb")
func OpenSource(ctx context.Context, name string) (io.ReadCloser, int64, error) {
	r, err := Open(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	return r, r.Size(), nil
}
