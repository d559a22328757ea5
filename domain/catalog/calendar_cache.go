package catalog

import (
	"context"
	"sync"
	"time"

	"courierd/domain"
)

// calendarTTL bounds how long a calendar read here is used: a write through this process
// drops it at once, another process's write (a second server on the same database) is
// seen within this time.
const calendarTTL = time.Minute

// calendarCache keeps the calendars read lately. Every dossier event counts working days,
// and the announced days change a few times a year: reading them on every event was a
// tenth of the database's statements.
type calendarCache struct {
	mu         sync.Mutex
	generation uint64 // bumped by every write, so that a read begun before it is not kept
	entries    map[[2]time.Time]cachedCalendar
}

type cachedCalendar struct {
	cal  Calendar
	read time.Time
}

// calendarCacheSize: callers ask for a few ranges a day (the dossier clocks', the
// dispatch day's); more means something asks for arbitrary ranges, and the cache starts over.
const calendarCacheSize = 16

func (c *calendarCache) get(key [2]time.Time) (Calendar, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e.cal, c.generation, ok && time.Since(e.read) < calendarTTL
}

func (c *calendarCache) put(key [2]time.Time, cal Calendar, generation uint64, read time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if generation != c.generation {
		return
	}
	if c.entries == nil || len(c.entries) >= calendarCacheSize {
		c.entries = make(map[[2]time.Time]cachedCalendar)
	}
	c.entries[key] = cachedCalendar{cal: cal, read: read}
}

func (c *calendarCache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	c.entries = nil
}

// Calendar loads the exceptions between from and to (civil dates, inclusive) into a
// Calendar. Callers ask for a margin beyond the dates they count over.
func (c *Catalog) Calendar(ctx context.Context, from, to time.Time) (Calendar, error) {
	filter := CalendarDayFilter{From: CivilDate(from), To: CivilDate(to)}
	key := [2]time.Time{filter.From, filter.To}
	cal, generation, ok := c.calendars.get(key)
	if ok {
		return cal, nil
	}
	read := time.Now()
	var days []CalendarDay
	for page := (domain.Page{Limit: domain.MaxPageLimit}); ; page.Offset += page.Limit {
		list, err := c.CalendarDays.List(ctx, filter, page)
		if err != nil {
			return Calendar{}, err
		}
		days = append(days, list.Items...)
		if len(list.Items) < page.Limit {
			break
		}
	}
	cal = NewCalendar(days)
	c.calendars.put(key, cal, generation, read)
	return cal, nil
}
