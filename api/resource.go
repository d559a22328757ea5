package api

import (
	"context"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/catalog"
)

// registry is what a catalog resource needs of its domain service.
type registry[T any, F any] interface {
	List(ctx context.Context, filter F, page domain.Page) (domain.List[T], error)
	Get(ctx context.Context, key string) (T, error)
	Create(ctx context.Context, record T) (T, error)
	Update(ctx context.Context, key string, record T, expectedVersion int) (T, error)
}

// resource describes one collection: who may read and write it, its DTO D and how to
// convert it.
type resource[T any, F any, D any] struct {
	path        string
	read, write access
	reg         registry[T, F]
	// key is the record's identifier as it appears in its URL.
	key   func(T) string
	toDTO func(T) D
	// fromDTO converts a request body; it also returns the version the client read
	// (0 when it sent none), which an update checks against the stored one.
	fromDTO func(D) (T, int, error)
	filter  func(c *fiber.Ctx, p *domain.Problems) F
	// noun names one record in the document ("agency"); params are filter's query
	// parameters; conflicts, the codes a write answers besides validation (a taken code).
	noun      string
	params    []queryParam
	conflicts []domain.Code
}

// listBody is the shape of every list answer.
type listBody[D any] struct {
	Items  []D `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
	// NextCursor continues after the last item; absent on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// revisionDTO is the bookkeeping every catalog record shows. On input, version is the
// one the client read (send it back to be told when someone else changed the record
// meanwhile); id and the times are ignored, so a record read can be sent back as is.
type revisionDTO struct {
	Version   int        `json:"version,omitempty" bound:"-int4..int4" column:"admin_units.version agencies.version post_offices.version procedures.version calendar_days.version couriers.version accounts.version"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

func toRevisionDTO(r catalog.Revision) revisionDTO {
	created, updated := r.CreatedAt, r.UpdatedAt
	return revisionDTO{Version: r.Version, CreatedAt: &created, UpdatedAt: &updated}
}

// listOf shapes a page of records as every list answer.
func listOf[T any, D any](list domain.List[T], page domain.Page, toDTO func(T) D) listBody[D] {
	if page.Limit == 0 {
		page.Limit = domain.DefaultPageLimit
	}
	body := listBody[D]{Items: make([]D, len(list.Items)), Total: list.Total, Limit: page.Limit, Offset: page.Offset,
		NextCursor: list.NextCursor}
	for i, item := range list.Items {
		body.Items[i] = toDTO(item)
	}
	return body
}

func mount[T any, F any, D any](r *router, res resource[T, F, D]) {
	var record D
	r.get(res.path, res.read, func(c *fiber.Ctx) error {
		var p domain.Problems
		page := queryPage(c, &p)
		filter := res.filter(c, &p)
		if err := p.Err(); err != nil {
			return err
		}
		list, err := res.reg.List(c.UserContext(), filter, page)
		if err != nil {
			return err
		}
		return c.JSON(listOf(list, page, res.toDTO))
	}).doc("List "+res.noun+" records").params(append(slices.Clone(paging), res.params...)...).answers(fiber.StatusOK, listBody[D]{})
	r.get(res.path+"/:key", res.read, func(c *fiber.Ctx) error {
		record, err := res.reg.Get(c.UserContext(), c.Params("key"))
		if err != nil {
			return err
		}
		return c.JSON(res.toDTO(record))
	}).doc("One "+res.noun).answers(fiber.StatusOK, record)
	r.post(res.path, res.write, func(c *fiber.Ctx) error {
		record, _, err := decodeRecord(c, res)
		if err != nil {
			return err
		}
		created, err := res.reg.Create(c.UserContext(), record)
		if err != nil {
			return err
		}
		c.Location(c.Path() + "/" + res.key(created))
		return c.Status(fiber.StatusCreated).JSON(res.toDTO(created))
	}).doc("Create a "+res.noun).takes(record).answers(fiber.StatusCreated, record).fails(res.conflicts...)
	r.put(res.path+"/:key", res.write, func(c *fiber.Ctx) error {
		record, version, err := decodeRecord(c, res)
		if err != nil {
			return err
		}
		updated, err := res.reg.Update(c.UserContext(), c.Params("key"), record, version)
		if err != nil {
			return err
		}
		return c.JSON(res.toDTO(updated))
	}).doc("Change a "+res.noun+" (send back the version read)").takes(record).answers(fiber.StatusOK, record).
		fails(append([]domain.Code{domain.CodeVersionConflict}, res.conflicts...)...)
}

func decodeRecord[T any, F any, D any](c *fiber.Ctx, res resource[T, F, D]) (T, int, error) {
	var dto D
	if err := decodeJSON(c, &dto); err != nil {
		var zero T
		return zero, 0, err
	}
	return res.fromDTO(dto)
}

// byID adapts a handler of the record named by the path's :key; a key that cannot be an
// id names nothing.
func byID(noun string, h func(c *fiber.Ctx, id uuid.UUID) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c.Params("key"), noun)
		if err != nil {
			return err
		}
		return h(c, id)
	}
}
