package catalog

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/auth"
)

// Revision is the bookkeeping every catalog record carries. Version starts at 1 and grows
// by one on every update, so an editor who read version N can refuse to overwrite N+1.
type Revision struct {
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Record is what every catalog kind offers to Registry.
type Record[T any] interface {
	// Validate reports every invalid field at once as VALIDATION_FAILED.
	Validate() error
	// WithKey is the record addressed by key (an id or a code), as an update replaces it:
	// NOT_FOUND for a key that cannot name a record, VALIDATION_FAILED when the body
	// tries to change the key.
	WithKey(key string) (T, error)
}

// Store is the persistence port for one record kind, implemented by storage.
//
// Errors: NOT_FOUND when key names no record; CONFLICT when a unique field (a code, a date)
// is taken; VALIDATION_FAILED when a reference (a parent, a post office) names nothing;
// VERSION_CONFLICT when expectedVersion is not zero and differs from the stored one.
type Store[T any, F any] interface {
	List(ctx context.Context, filter F, page domain.Page) (domain.List[T], error)
	Get(ctx context.Context, key string) (T, error)
	Create(ctx context.Context, record T) (T, error)
	Update(ctx context.Context, record T, expectedVersion int) (T, error)
}

// Policy is the object-level rule of one record kind: which records a principal may see.
// Which roles may call which route at all is the route table's business (api).
type Policy[T any, F any] struct {
	// Visible reports whether p may see record; others answer NOT_FOUND.
	Visible func(p auth.Principal, record T) bool
	// Narrow restricts filter to what p may see, or reports that p may see nothing.
	Narrow func(p auth.Principal, filter *F) bool
}

// Registry applies the catalog's rules to one record kind before its Store sees it.
type Registry[T Record[T], F any] struct {
	store  Store[T, F]
	policy Policy[T, F]
	// prepare fills server-owned fields on create (identifiers) and may check rules that
	// need other records; it is nil where Validate says everything.
	prepare func(ctx context.Context, record *T, creating bool) error
}

// NewRegistry wraps store; prepare may be nil.
func NewRegistry[T Record[T], F any](store Store[T, F], prepare func(ctx context.Context, record *T, creating bool) error) *Registry[T, F] {
	return &Registry[T, F]{store: store, prepare: prepare}
}

// WithPolicy sets the object-level rule; without one, every caller the route admits sees
// every record (reference data such as procedures and holidays).
func (r *Registry[T, F]) WithPolicy(p Policy[T, F]) *Registry[T, F] {
	r.policy = p
	return r
}

func (r *Registry[T, F]) List(ctx context.Context, filter F, page domain.Page) (domain.List[T], error) {
	if err := page.Validate(); err != nil {
		return domain.List[T]{}, err
	}
	if r.policy.Narrow != nil && !r.policy.Narrow(auth.PrincipalFrom(ctx), &filter) {
		return domain.List[T]{Items: []T{}}, nil
	}
	return r.store.List(ctx, filter, page)
}

func (r *Registry[T, F]) Get(ctx context.Context, key string) (T, error) {
	record, err := r.store.Get(ctx, key)
	if err == nil && r.policy.Visible != nil && !r.policy.Visible(auth.PrincipalFrom(ctx), record) {
		var zero T
		return zero, domain.Errorf(domain.CodeNotFound, "no such record")
	}
	return record, err
}

func (r *Registry[T, F]) Create(ctx context.Context, record T) (T, error) {
	if err := r.check(ctx, &record, true); err != nil {
		var zero T
		return zero, err
	}
	return r.store.Create(ctx, record)
}

// Update replaces the record at key. expectedVersion 0 skips the lost-update check.
func (r *Registry[T, F]) Update(ctx context.Context, key string, record T, expectedVersion int) (T, error) {
	record, err := record.WithKey(key)
	if err == nil {
		err = r.check(ctx, &record, false)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return r.store.Update(ctx, record, expectedVersion)
}

func (r *Registry[T, F]) check(ctx context.Context, record *T, creating bool) error {
	if err := (*record).Validate(); err != nil {
		return err
	}
	if r.prepare != nil {
		return r.prepare(ctx, record, creating)
	}
	return nil
}

// idKey parses the key of a record addressed by UUID; a malformed one names nothing.
func idKey(key, noun string) (uuid.UUID, error) {
	id, err := uuid.Parse(key)
	if err != nil {
		return uuid.Nil, domain.Errorf(domain.CodeNotFound, "no such %s", noun)
	}
	return id, nil
}

// checkName requires a trimmed, non-empty name of reasonable length.
func checkName(p *domain.Problems, field, value string, maxLen int) {
	switch {
	case strings.TrimSpace(value) == "":
		p.Add(field, "is required")
	case value != strings.TrimSpace(value):
		p.Add(field, "must not start or end with spaces")
	case utf8.RuneCountInString(value) > maxLen:
		p.Add(field, "is too long")
	}
}

// oneOf reports whether v is among allowed.
func oneOf[V comparable](v V, allowed ...V) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

var recordCode = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$`)

// checkCode requires an identifier-like code: letters, digits, dots, dashes, underscores.
func checkCode(p *domain.Problems, field, value string) {
	p.Check(recordCode.MatchString(value), field, "must be 1–40 letters, digits, '.', '-' or '_'")
}
