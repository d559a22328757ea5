package dossier

import (
	"crypto/rand"
	"time"

	"github.com/google/uuid"

	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/pii"
)

// Decide runs the storage-free core of Service.Apply as p, on an ordinary week and a
// procedure that allows proxies, so that the tests can walk the dossier machine and the
// task machine together. It moves tasks in place, as Apply's store would persist them.
func Decide(p auth.Principal, cfg ClockConfig, d Dossier, tasks []Task, in EventInput, now time.Time) (Change, error) {
	keys, err := pii.NewKeyring(map[string][]byte{"test": make([]byte, 32)}, "test", "test", rand.Reader)
	if err != nil {
		return Change{}, err
	}
	s := &Service{cfg: cfg, keys: keys, random: rand.Reader, newID: uuid.New}
	proc := catalog.Procedure{ProcessingDays: 5, ProxyAllowed: true, ReturnByPost: true}
	return s.decide(p, d, tasks, in, now, reads{cal: catalog.NewCalendar(nil), proc: proc})
}

// CheckFieldReport is checkFieldReport, for the rule's own tests.
var CheckFieldReport = checkFieldReport

// EventRules is the event table, for its own tests.
var EventRules = eventRules

// CheckInput is EventInput's check, for the table's tests of the fields each event takes.
func CheckInput(in EventInput, today time.Time) error { return in.check(today) }
