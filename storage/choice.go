package storage

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"courierd/domain/applicant"
	"courierd/domain/audit"
	"courierd/domain/dossier"
)

// ApplicantStore keeps what applicants choose and what they are offered: the slots post
// offices offer, ratings and messaging preferences.
type ApplicantStore struct{ db *DB }

func NewApplicantStore(db *DB) *ApplicantStore { return &ApplicantStore{db: db} }

type slotRow struct {
	PostOfficeID uuid.UUID `gorm:"primaryKey"`
	StartMin     int       `gorm:"primaryKey"`
	EndMin       int
	Capacity     int
}

func (slotRow) TableName() string { return "post_office_slots" }

func (s *ApplicantStore) Slots(ctx context.Context, officeID uuid.UUID) ([]applicant.SlotTemplate, error) {
	var rows []slotRow
	if err := s.db.gorm.WithContext(ctx).Where("post_office_id = ?", officeID).Order("start_min").Find(&rows).Error; err != nil {
		return nil, translate(err, "slot")
	}
	out := make([]applicant.SlotTemplate, len(rows))
	for i, r := range rows {
		out[i] = applicant.SlotTemplate{Slot: dossier.Slot{StartMin: r.StartMin, EndMin: r.EndMin}, Capacity: r.Capacity}
	}
	return out, nil
}

func (s *ApplicantStore) SetSlots(ctx context.Context, officeID uuid.UUID, slots []applicant.SlotTemplate, entry audit.Entry) error {
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("post_office_id = ?", officeID).Delete(&slotRow{}).Error; err != nil {
			return err
		}
		if len(slots) > 0 {
			rows := make([]slotRow, len(slots))
			for i, sl := range slots {
				rows[i] = slotRow{PostOfficeID: officeID, StartMin: sl.StartMin, EndMin: sl.EndMin, Capacity: sl.Capacity}
			}
			if err := tx.Create(&rows).Error; err != nil {
				return err
			}
		}
		return writeAudit(tx, entry)
	})
	return translate(err, "post office")
}

// liveStates are dossier.LiveTaskStates, written out for tasks_slot_use_idx: counting a
// slot's use with them bound, a generic plan of the statement leaves the index aside.
var liveStates = sqlList(dossier.LiveTaskStates)

func (s *ApplicantStore) SlotUse(ctx context.Context, officeID uuid.UUID, from, to time.Time) (map[time.Time]map[int]int, error) {
	var rows []struct {
		ScheduledFor time.Time
		SlotStartMin int
		Taken        int
	}
	err := s.db.gorm.WithContext(ctx).Raw(`SELECT scheduled_for, slot_start_min, count(*) AS taken FROM tasks
		WHERE post_office_id = ? AND scheduled_for BETWEEN ? AND ? AND slot_start_min IS NOT NULL AND state IN `+liveStates+`
		GROUP BY scheduled_for, slot_start_min`, officeID, from, to).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "slot")
	}
	use := map[time.Time]map[int]int{}
	for _, r := range rows {
		day := r.ScheduledFor.UTC()
		if use[day] == nil {
			use[day] = map[int]int{}
		}
		use[day][r.SlotStartMin] = r.Taken
	}
	return use, nil
}

type ratingRow struct {
	DossierID uuid.UUID `gorm:"primaryKey"`
	Stars     int
	Comment   string
	RatedAt   time.Time
}

func (ratingRow) TableName() string { return "dossier_ratings" }

func (s *ApplicantStore) Rate(ctx context.Context, r applicant.Rating, entry audit.Entry) error {
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := ratingRow{DossierID: r.DossierID, Stars: r.Stars, Comment: r.Comment, RatedAt: r.RatedAt}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return err
		}
		return writeAudit(tx, entry)
	})
	return translate(err, "rating")
}

type preferenceRow struct {
	PhoneIndex string `gorm:"primaryKey"`
	Channel    string
	OptedOut   bool
	UpdatedAt  time.Time
}

func (preferenceRow) TableName() string { return "notification_preferences" }

func (s *ApplicantStore) Preference(ctx context.Context, phoneIndex string) (dossier.Preference, error) {
	return preference(ctx, s.db, phoneIndex)
}

// Preference serves the notices, which go by the applicant's choice.
func (s *DossierStore) Preference(ctx context.Context, phoneIndex string) (dossier.Preference, error) {
	return preference(ctx, s.db, phoneIndex)
}

func preference(ctx context.Context, db *DB, phoneIndex string) (dossier.Preference, error) {
	var rows []preferenceRow
	if err := db.gorm.WithContext(ctx).Where("phone_index = ?", phoneIndex).Limit(1).Find(&rows).Error; err != nil {
		return dossier.Preference{}, translate(err, "preference")
	}
	if len(rows) == 0 {
		return dossier.Preference{Channel: dossier.PreferAny}, nil
	}
	r := rows[0]
	return dossier.Preference{Channel: dossier.ChannelPreference(r.Channel), OptedOut: r.OptedOut, UpdatedAt: r.UpdatedAt}, nil
}

func (s *ApplicantStore) SetPreference(ctx context.Context, phoneIndex string, p dossier.Preference, entry audit.Entry) error {
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := preferenceRow{PhoneIndex: phoneIndex, Channel: string(p.Channel), OptedOut: p.OptedOut, UpdatedAt: p.UpdatedAt}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return err
		}
		return writeAudit(tx, entry)
	})
	return translate(err, "preference")
}
