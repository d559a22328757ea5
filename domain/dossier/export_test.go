package dossier

import (
	"crypto/rand"
	"time"

	"github.com/google/uuid"

	"courierd/domain/auth"
	"courierd/domain/catalog"
	"courierd/domain/pii"
)

// Decide runs the storage-free core of Service.Apply as an admin, on an ordinary week and
// a procedure that allows proxies, so that the tests can walk the dossier machine and
// the task machine together. It moves tasks in place, as Apply's store would persist them.
func Decide(cfg ClockConfig, d Dossier, tasks []Task, in EventInput, now time.Time, courierID uuid.UUID) (Change, error) {
	keys, err := pii.NewKeyring(map[string][]byte{"test": make([]byte, 32)}, "test", "test", rand.Reader)
	if err != nil {
		return Change{}, err
	}
	s := &Service{cfg: cfg, keys: keys, random: rand.Reader, newID: uuid.New}
	proc := catalog.Procedure{ProcessingDays: 5, ProxyAllowed: true, ReturnByPost: true}
	courier := &catalog.Courier{ID: courierID, Active: true}
	return s.decide(auth.Principal{Role: auth.RoleAdmin}, d, tasks, in, now, reads{cal: catalog.NewCalendar(nil), proc: proc, courier: courier})
}

// CheckFieldReport is checkFieldReport, for the rule's own tests.
var CheckFieldReport = checkFieldReport
