package sim

import (
	"context"
	"database/sql"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver
)

// check holds the devices' acknowledgements to the database: every mutation a device saw
// acknowledged must have exactly one outcome stored, and every applied one exactly one
// field report; the breadcrumbs stored are counted there too.
func check(ctx context.Context, databaseURL string, devices []*device, r *Report) error {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	var acked, deviceIDs []string
	for _, d := range devices {
		deviceIDs = append(deviceIDs, d.serverID)
		for id := range d.acked {
			acked = append(acked, id.String())
		}
	}
	var outcomes, unreported int
	if err := db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE m.status = 'applied'
			AND NOT EXISTS (SELECT 1 FROM field_reports f WHERE f.mutation_id = m.id))
		FROM sync_mutations m WHERE m.id = ANY($1::uuid[])`, acked).Scan(&outcomes, &unreported); err != nil {
		return err
	}
	r.Lost = len(acked) - outcomes + unreported
	return db.QueryRowContext(ctx, `SELECT count(*) FROM breadcrumbs WHERE device_id = ANY($1::uuid[])`, deviceIDs).Scan(&r.GPSPointsStored)
}
