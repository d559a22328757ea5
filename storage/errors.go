package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"courierd/domain"
)

// constraintFields names the API field behind each constraint, so a unique or foreign-key
// violation that slipped past domain checks (two admins racing) still tells the client
// which field to fix.
var constraintFields = map[string]string{
	"admin_units_current_code_key":        "code",
	"admin_units_ended_code_key":          "code",
	"admin_units_parent_fk":               "parent_code",
	"agencies_code_key":                   "code",
	"agencies_admin_unit_fk":              "admin_unit_code",
	"post_offices_code_key":               "code",
	"post_offices_admin_unit_fk":          "admin_unit_code",
	"procedures_code_key":                 "code",
	"calendar_days_day_key":               "date",
	"couriers_staff_code_key":             "staff_code",
	"zones_name_once":                     "name",
	"couriers_post_office_fk":             "post_office_id",
	"citizens_admin_unit_fk":              "admin_unit_code",
	"accounts_username_key":               "username",
	"accounts_courier_key":                "courier_id",
	"accounts_courier_fk":                 "courier_id",
	"accounts_agency_fk":                  "agency_id",
	"partner_clients_agency_fk":           "agency_id",
	"account_post_offices_post_office_fk": "post_office_ids",
	"devices_device_key_key":              "device_id",
	"manifest_items_dossier_fk":           "dossier_ids",
	"manifest_items_open_once":            "dossier_ids",
	"dossiers_portal_ref_key":             "portal_ref",
	"dossiers_receipt_code_key":           "receipt_code",
	"courier_days_pkey":                   "date",
	"remittances_reference_once":          "bank_reference",
}

// translate turns driver and gorm errors into domain codes. noun names what was sought,
// for the NOT_FOUND message. Errors it does not know stay as they are: INTERNAL.
func translate(err error, noun string) error {
	if err == nil {
		return nil
	}
	if _, ok := domain.AsError(err); ok {
		return err
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return domain.Errorf(domain.CodeNotFound, "no such %s", noun)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		field := constraintFields[pgErr.ConstraintName]
		switch {
		case pgErr.Code == "23505":
			e := domain.Errorf(domain.CodeConflict, "another %s already has this %s", noun, orWord(field, "value"))
			if field != "" {
				e.Fields = []domain.FieldError{{Field: field, Reason: "is already taken"}}
			}
			return e
		case pgErr.Code == "23503":
			return domain.Invalid(orWord(field, noun), "names a record that does not exist")
		case pgErr.Code == "23514":
			return domain.Invalid(orWord(field, noun), "is out of the allowed range")
		case pgErr.Code[:2] == "08" || pgErr.Code == "57P01" || pgErr.Code == "57P03" || pgErr.Code == "53300":
			return unavailable(err)
		}
		return err
	}
	// A connection that broke under the statement (the server restarted, the network cut
	// it) says so in several ways, none of them the request's fault.
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return unavailable(err)
	}
	return err
}

// unavailable keeps the cause for the log while the client sees only UNAVAILABLE.
func unavailable(cause error) error {
	return fmt.Errorf("%w: %v", domain.Errorf(domain.CodeUnavailable, "the database is unreachable; retry shortly"), cause)
}

func orWord(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// mustExist answers NOT_FOUND when table has no row of id: a list under a parent that does
// not exist says so, rather than "it has none".
func mustExist(tx *gorm.DB, table string, id uuid.UUID, noun string) error {
	var found bool
	if err := tx.Raw("SELECT EXISTS (SELECT 1 FROM "+table+" WHERE id = ?)", id).Scan(&found).Error; err != nil {
		return translate(err, noun)
	}
	if !found {
		return domain.Errorf(domain.CodeNotFound, "no such %s", noun)
	}
	return nil
}
