package storage

import (
	"github.com/google/uuid"
	"gorm.io/gorm"
)

// OpenTasksStatement is the statement a pull from no cursor reads its courier's stops with,
// as sent to PostgreSQL (placeholders $1…), and its arguments.
func OpenTasksStatement(db *DB, courier, after uuid.UUID, limit int) (string, []any) {
	stmt := openTasks(db.gorm.Session(&gorm.Session{DryRun: true}), courier, after, limit).Find(&[]taskRow{}).Statement
	return stmt.SQL.String(), stmt.Vars
}
