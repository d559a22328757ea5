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
	tx, err := s.store.Begin(ctx)
	if err != nil {
		return CourierDay{}, err
	}
	defer tx.Rollback()
	// The bag is read inside the closing transaction, with the courier locked against
	// handovers to them, so a pickup cannot slip in between the check and the close.
	if err := tx.LockCourier(ctx, courierID); err != nil {
		return CourierDay{}, err
	}
	bag, err := tx.Bag(ctx, courierID)
	if err != nil {
		return CourierDay{}, err
	}
	if cd.Explanations, err = explained(bag, explanations); err != nil {
		return CourierDay{}, err
	}
	entry.Detail = map[string]any{"kept": len(cd.Explanations)}
	if err := tx.WriteDay(ctx, cd, entry); err != nil {
		return CourierDay{}, err
	}
	if err := tx.Commit(); err != nil {
		return CourierDay{}, err
	}
	return cd, nil
}

// explained are the reasons why each dossier of the bag stays with the courier, or
// BAG_NOT_EMPTY listing the receipt codes of those without one.
func explained(bag []dossier.Dossier, explanations map[uuid.UUID]string) (map[uuid.UUID]string, error) {
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
	return kept, nil
}
