package counter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
	"courierd/domain/audit"
	"courierd/domain/auth"
	"courierd/domain/dossier"
)

// CodeBagNotEmpty refuses to close a courier's day while something is in the bag without
// a reason.
const CodeBagNotEmpty domain.Code = "BAG_NOT_EMPTY"

// CourierDay is a courier's closed day, with the reasons for what stayed in the bag.
type CourierDay struct {
	CourierID    uuid.UUID
	Day          time.Time
	ClosedAt     time.Time
	ClosedBy     uuid.UUID
	Explanations map[uuid.UUID]string // dossier → why it is still with the courier
}

// CloseDay ends a courier's day. Every dossier still in the bag must be explained (a
// result kept overnight for a first-hour delivery, say); otherwise the answer lists the
// receipt codes, so nothing goes home in a bag unnoticed.
func (s *Service) CloseDay(ctx context.Context, courierID uuid.UUID, day time.Time, explanations map[uuid.UUID]string) (CourierDay, error) {
	p := auth.PrincipalFrom(ctx)
	// The courier policy answers NOT_FOUND for couriers the caller may not see.
	if _, err := s.catalog.Couriers.Get(ctx, courierID.String()); err != nil {
		return CourierDay{}, err
	}
	now := s.now()
	cd := CourierDay{CourierID: courierID, Day: domain.DateOf(day), ClosedAt: now, ClosedBy: p.AccountID, Explanations: map[uuid.UUID]string{}}
	entry := audit.Entry{At: now, ActorID: p.AccountID, ActorRole: string(p.Role), DeviceID: p.DeviceID, Source: p.Source,
		Action: "courier.close_day", ResourceKind: "courier", ResourceID: courierID.String()}
	// The bag is read inside the closing transaction, with the courier locked against
	// handovers to them, so a pickup cannot slip in between the check and the close.
	err := s.store.CloseDay(ctx, cd, entry, func(bag []dossier.Dossier) (map[uuid.UUID]string, error) {
		kept := map[uuid.UUID]string{}
		var unexplained []string
		for _, d := range bag {
			reason := strings.TrimSpace(explanations[d.ID])
			if reason == "" {
				unexplained = append(unexplained, d.Receipt.String())
				continue
			}
			kept[d.ID] = reason
		}
		if len(unexplained) > 0 {
			e := domain.Errorf(CodeBagNotEmpty, "%d dossiers are still in the bag: hand them to the post office or say why they stay", len(unexplained))
			for _, code := range unexplained {
				e.Fields = append(e.Fields, domain.FieldError{Field: "explanations", Reason: fmt.Sprintf("%s is in the bag without a reason", code)})
			}
			return nil, e
		}
		cd.Explanations = kept
		return kept, nil
	})
	if err != nil {
		return CourierDay{}, err
	}
	return cd, nil
}
