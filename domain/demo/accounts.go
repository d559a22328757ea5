package demo

import (
	"fmt"
	"strings"

	"github.com/google/uuid"

	"courierd/domain/auth"
	"courierd/domain/catalog"
)

// buildAccounts makes the demo logins: admin; dispatcher for the full post office and
// dispatcher2 for the cultural one; clerk at the provincial Department of Justice; and
// courier01… for each courier, in staff-code order. Passwords are set when seeding.
func buildAccounts(offices []catalog.PostOffice, agencies []catalog.Agency, couriers []catalog.Courier) []auth.Account {
	account := func(username string, role auth.Role) auth.Account {
		return auth.Account{ID: stableID("account", username), Username: username, Role: role, Active: true}
	}
	admin := account("admin", auth.RoleAdmin)
	dispatcher := account("dispatcher", auth.RoleDispatcher)
	dispatcher.PostOfficeIDs = []uuid.UUID{offices[0].ID}
	dispatcher2 := account("dispatcher2", auth.RoleDispatcher)
	dispatcher2.PostOfficeIDs = []uuid.UUID{offices[1].ID}
	clerk := account("clerk", auth.RoleClerk)
	clerk.AgencyID = agencyNamed(agencies, "Sở Tư pháp").ID
	accounts := []auth.Account{admin, dispatcher, dispatcher2, clerk}
	for i, c := range couriers {
		a := account(fmt.Sprintf("courier%02d", i+1), auth.RoleCourier)
		a.CourierID = c.ID
		accounts = append(accounts, a)
	}
	return accounts
}

func agencyNamed(agencies []catalog.Agency, prefix string) catalog.Agency {
	for _, a := range agencies {
		if strings.HasPrefix(a.Name, prefix) {
			return a
		}
	}
	panic("demo: no agency named " + prefix)
}
