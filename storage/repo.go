package storage

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/catalog"
)

// RowMeta is the bookkeeping columns every catalog table has (exported because gorm
// reads only exported embedded structs).
type RowMeta struct {
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (m *RowMeta) meta() *RowMeta { return m }

func (m RowMeta) revision() catalog.Revision {
	return catalog.Revision{Version: m.Version, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

// row is what a gorm struct offers the generic repository.
type row[T any] interface {
	meta() *RowMeta
	// key is the primary key's column and value.
	key() (string, any)
	toDomain() (T, error)
}

// repo implements catalog.Store for one table. M is the gorm struct; PM its pointer, which
// carries the row methods.
type repo[T any, F any, M any, PM interface {
	*M
	row[T]
}] struct {
	db     *DB
	noun   string
	order  string
	toRow  func(T) (M, error)
	filter func(q *gorm.DB, f F) *gorm.DB
}

func (r *repo[T, F, M, PM]) List(ctx context.Context, f F, page domain.Page) (domain.List[T], error) {
	q := r.filter(r.db.gorm.WithContext(ctx).Model(new(M)), f)
	return pageOf(q, r.order, page, r.noun, func(m M) (T, error) { return PM(&m).toDomain() })
}

func (r *repo[T, F, M, PM]) Get(ctx context.Context, key string) (T, error) {
	var m M
	column, _ := PM(&m).key()
	if err := r.db.gorm.WithContext(ctx).Where(column+" = ?", key).Take(&m).Error; err != nil {
		var zero T
		return zero, translate(notFoundOnBadKey(err), r.noun)
	}
	return PM(&m).toDomain()
}

func (r *repo[T, F, M, PM]) Create(ctx context.Context, record T) (T, error) {
	m, err := r.toRow(record)
	if err != nil {
		var zero T
		return zero, err
	}
	now := r.db.stamp()
	*PM(&m).meta() = RowMeta{Version: 1, CreatedAt: now, UpdatedAt: now}
	err = r.db.inTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&m).Error; err != nil {
			return err
		}
		return writeAudit(tx, r.auditEntry(ctx, now, "create", PM(&m), 1))
	})
	if err != nil {
		var zero T
		return zero, translate(err, r.noun)
	}
	return PM(&m).toDomain()
}

// Update replaces the stored row under a row lock, so that two editors cannot both pass
// the version check.
func (r *repo[T, F, M, PM]) Update(ctx context.Context, record T, expectedVersion int) (T, error) {
	m, err := r.toRow(record)
	if err != nil {
		var zero T
		return zero, err
	}
	err = r.db.inTx(ctx, func(tx *gorm.DB) error {
		var current M
		column, value := PM(&m).key()
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where(column+" = ?", value).Take(&current).Error; err != nil {
			return err
		}
		stored := PM(&current).meta()
		if expectedVersion != 0 && expectedVersion != stored.Version {
			return domain.Errorf(domain.CodeVersionConflict, "this %s changed since you read it (version %d, you sent %d); reload and edit again", r.noun, stored.Version, expectedVersion)
		}
		now := r.db.stamp()
		*PM(&m).meta() = RowMeta{Version: stored.Version + 1, CreatedAt: stored.CreatedAt, UpdatedAt: now}
		if err := tx.Select("*").Updates(&m).Error; err != nil {
			return err
		}
		return writeAudit(tx, r.auditEntry(ctx, now, "update", PM(&m), stored.Version+1))
	})
	if err != nil {
		var zero T
		return zero, translate(err, r.noun)
	}
	return PM(&m).toDomain()
}

// auditEntry records a write of row by ctx's principal; the detail is the version only,
// since catalog rows can hold staff phone numbers.
func (r *repo[T, F, M, PM]) auditEntry(ctx context.Context, at time.Time, verb string, row PM, version int) audit.Entry {
	_, key := row.key()
	kind := strings.ReplaceAll(r.noun, " ", "_")
	return entryFromContext(ctx, at, kind+"."+verb, kind, fmt.Sprint(key), map[string]any{"version": version})
}

// notFoundOnBadKey treats a key PostgreSQL cannot even parse (a malformed UUID) as one
// that names nothing.
func notFoundOnBadKey(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "22P02" {
		return gorm.ErrRecordNotFound
	}
	return err
}

// foldForSearch lowercases and strips Vietnamese diacritics, so that "phu hoa" finds
// "Phú Hòa". Stored beside names as search_name and applied to queries alike.
func foldForSearch(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, s)
	if err != nil {
		folded = s
	}
	return strings.NewReplacer("đ", "d", "Đ", "d").Replace(strings.ToLower(folded))
}

// likeFolded matches search_name containing q, folded, with LIKE's wildcards escaped.
func likeFolded(q *gorm.DB, query string) *gorm.DB {
	if query == "" {
		return q
	}
	escaped := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(foldForSearch(query))
	return q.Where("search_name LIKE ?", "%"+escaped+"%")
}

// whereSet adds column = value when value is not the zero value.
func whereSet[V comparable](q *gorm.DB, column string, value V) *gorm.DB {
	var zero V
	if value == zero {
		return q
	}
	return q.Where(column+" = ?", value)
}

// whereIn adds column IN values when values is not nil; an empty, non-nil list matches
// nothing, as a scope with no members must.
func whereIn[V any](q *gorm.DB, column string, values []V) *gorm.DB {
	if values == nil {
		return q
	}
	if len(values) == 0 {
		return q.Where("false")
	}
	return q.Where(column+" IN ?", values)
}

// texts is a list the domain declares (states, kinds, types), as the text[] a statement
// binds: storage holds no such list of its own.
func texts[S ~string](values []S) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// sqlList writes a list the domain declares into a statement's text, as ('a', 'b'), for
// a predicate a partial index must match: the planner proves an index's predicate only
// from literals, and a bound list is unknown to a generic plan.
func sqlList[S ~string](values []S) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "'" + strings.ReplaceAll(string(v), "'", "''") + "'"
	}
	return "(" + strings.Join(quoted, ", ") + ")"
}

// whereFlag adds column = *flag when flag is given.
func whereFlag(q *gorm.DB, column string, flag *bool) *gorm.DB {
	if flag == nil {
		return q
	}
	return q.Where(column+" = ?", *flag)
}

// pageOf counts the rows q matches and reads one page of them in order, each converted by
// conv: the shape of every list in this package. The page starts at its offset or after
// its cursor's row; noun names the list, so that a cursor of another list is refused.
// One row beyond the page is read to learn whether a next page exists.
func pageOf[R any, T any](q *gorm.DB, order string, page domain.Page, noun string, conv func(R) (T, error)) (domain.List[T], error) {
	var rows []R
	keys, err := keysetOf(q, &rows, noun, order)
	if err != nil {
		return domain.List[T]{}, err
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return domain.List[T]{}, translate(err, noun)
	}
	if page.Cursor != "" {
		key, err := keys.decode(page.Cursor)
		if err != nil {
			return domain.List[T]{}, err
		}
		cond, args := keys.after(key)
		q = q.Where(cond, args...)
	}
	if err := q.Order(order).Limit(page.Limit + 1).Offset(page.Offset).Find(&rows).Error; err != nil {
		return domain.List[T]{}, translate(err, noun)
	}
	list := domain.List[T]{Total: int(total)}
	if len(rows) > page.Limit && page.Limit > 0 {
		rows = rows[:page.Limit]
		list.NextCursor = keys.encode(q.Statement.Context, reflect.ValueOf(&rows[len(rows)-1]).Elem())
	}
	list.Items = make([]T, len(rows))
	for i, r := range rows {
		item, err := conv(r)
		if err != nil {
			return domain.List[T]{}, err
		}
		list.Items[i] = item
	}
	return list, nil
}

// infallible lifts a conversion that cannot fail.
func infallible[R any, T any](conv func(R) T) func(R) (T, error) {
	return func(r R) (T, error) { return conv(r), nil }
}

// findByIDs reads into dest the rows whose id is in ids, naming dest's columns as every
// read does (QueryFields in Open). The ids go as one array parameter: gorm would spread a
// slice bound to ? into a list, a new statement to prepare for each length.
func findByIDs[R any](db *gorm.DB, ids any, dest *[]R) error {
	columns, table, err := columnsOf(db, dest, "")
	if err != nil {
		return err
	}
	return db.Raw(fmt.Sprintf("SELECT %s FROM %s WHERE id = ANY($1)", columns, table), ids).Scan(dest).Error
}

// columnsOf lists, for a raw statement, the columns dest's rows read (qualified by alias
// when there is one), and their table: a raw read names its columns as gorm's do. The
// lists depend on the row type alone, so each is built once: the push reads a stop this way
// for every mutation.
func columnsOf(db *gorm.DB, dest any, alias string) (columns, table string, err error) {
	key := columnListKey{reflect.TypeOf(dest), alias}
	if known, ok := columnLists.Load(key); ok {
		list := known.(columnList)
		return list.columns, list.table, nil
	}
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(dest); err != nil {
		return "", "", err
	}
	names := make([]string, 0, len(stmt.Schema.DBNames))
	cut := cutColumns(stmt.Schema.Table)
	for _, name := range stmt.Schema.DBNames {
		if slices.Contains(cut, name) {
			continue
		}
		if alias != "" {
			name = alias + "." + name
		}
		names = append(names, stmt.Quote(name))
	}
	list := columnList{strings.Join(names, ", "), stmt.Quote(stmt.Schema.Table)}
	columnLists.Store(key, list)
	return list.columns, list.table, nil
}

type columnListKey struct {
	rows  reflect.Type
	alias string
}

type columnList struct{ columns, table string }

var columnLists sync.Map // columnListKey → columnList
