package domain

// Page asks for a window of a list: at most Limit items, either after skipping Offset or
// after the row a Cursor (from a previous answer's NextCursor) points at.
type Page struct {
	Limit  int
	Offset int
	Cursor string
}

const (
	DefaultPageLimit = 50
	MaxPageLimit     = 500
)

// Validate names the page's bad fields; a zero Limit means the default.
func (p *Page) Validate() error {
	var probs Problems
	if p.Limit == 0 {
		p.Limit = DefaultPageLimit
	}
	probs.Check(p.Limit >= 1 && p.Limit <= MaxPageLimit, "limit", "must be between 1 and 500")
	probs.Check(p.Offset >= 0, "offset", "must not be negative")
	// Both would say where the page starts; a cursor already carries its position.
	probs.Check(p.Cursor == "" || p.Offset == 0, "offset", "must not be given with cursor")
	return probs.Err()
}

// List is one page of records and the number of records matching the filter in all.
// NextCursor continues after the page's last item; it is empty on the last page.
type List[T any] struct {
	Items      []T
	Total      int
	NextCursor string
}
