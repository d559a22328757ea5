// Package storage is courierd's PostgreSQL adapter: the connection pool (gorm over pgx),
// the goose migrations runner, the repositories that implement domain's ports, the
// transactional insert of River jobs (Queue: jobs commit with the rows that caused them),
// the translation of PostgreSQL errors into domain codes, the proof-file stores and the
// demo-data writer.
//
// Beside it, not in it: storage/jobs is the process's River client and the workers that
// run the jobs; storage/outbound and its subpackages are the outbound adapters (HTTP
// clients, webhook posting, SMS and Zalo messaging, the OSRM routing engine);
// storage/dbtest makes test databases.
//
// Transactions. A transaction is a value the domain drives, not a callback a store runs:
// each area declares, where it uses it, the interface of the transaction it needs
// (dossier.Tx; fieldsync.PushTx, dispatch.PlanTx and counter.Tx, which embed
// dossier.Writer; auth.SessionTx, auth.ChallengeTx, payment.RecordTx, notify.ZaloTokenTx),
// and one type here, Tx (tx.go), implements them all over one gorm transaction. A store's
// Begin returns a *Tx as its area's interface; each area's Tx methods live in that area's
// file (dossier.go: Lock, Apply, CountMiss, WriteSealed; push.go: LockDevice, Outcomes,
// Taken, Task, Record; dispatch.go: LockPlan, WritePlan, PublishPlan; manifest.go:
// LockManifest, WriteManifest, LockCourier, Bag, WriteDay; auth.go: LockRefresh,
// RotateRefresh, Revoke, LockChallenge, SaveChallenge; payment.go: LockDue,
// PaymentByTransaction, PaidVND, InsertPayment; zalo.go: LockZaloTokens, WriteZaloTokens).
// The Tx collects the jobs of the changes applied and inserts them (River, the
// transactional outbox) just before it commits; Rollback after Commit does nothing, so
// callers `defer tx.Rollback()`. A method that writes an audit entry takes it and writes
// it in the transaction. No store holds another store and no store method takes a
// callback: what two areas commit together meets in the Tx.
//
// gorm row structs never leave this package; named converters turn them into domain
// values and back. Imports allowed: courierd/domain and its subpackages,
// courierd/migrations, gorm, pgx, goose. Never api or fiber.
package storage
