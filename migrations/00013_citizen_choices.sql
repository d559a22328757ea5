-- What the applicant decides and proves: the door code of a delivery trip, how they want
-- the result (home or the post office's counter), the slots post offices offer and fill,
-- the collection-on-behalf surcharge, ratings, and how (or whether) they are messaged.

-- +goose Up
ALTER TABLE dossiers
    -- The current delivery trip's handover code, sealed; empty when no trip is under way.
    ADD COLUMN handover_sealed     text NOT NULL DEFAULT '',
    ADD COLUMN handover_expires_at timestamptz,
    ADD COLUMN handover_failures   integer NOT NULL DEFAULT 0 CONSTRAINT dossiers_handover_failures_check CHECK (handover_failures >= 0),
    -- '' until the applicant chooses; home or post_office after.
    ADD COLUMN delivery_choice     text NOT NULL DEFAULT ''
        CONSTRAINT dossiers_delivery_choice_check CHECK (delivery_choice IN ('', 'home', 'post_office')),
    ADD COLUMN surcharge_vnd       bigint NOT NULL DEFAULT 0 CONSTRAINT dossiers_surcharge_vnd_check CHECK (surcharge_vnd >= 0);

-- The wrong codes tried on each trip, by keyed hash, so that a retried request (a device
-- that lost the answer) does not count the same guess twice.
CREATE TABLE handover_misses (
    dossier_id uuid NOT NULL REFERENCES dossiers (id),
    sealed     text NOT NULL, -- the trip's code, as sealed: a new trip starts a new count
    guess      text NOT NULL,
    PRIMARY KEY (dossier_id, sealed, guess)
);

-- What the post charges for collecting a procedure's fee on the agency's behalf.
ALTER TABLE procedures
    ADD COLUMN collection_surcharge_vnd bigint NOT NULL DEFAULT 0
        CONSTRAINT procedures_collection_surcharge_vnd_check CHECK (collection_surcharge_vnd >= 0);

-- The slots a post office offers applicants on each of its working days, and how many
-- stops (pickups and deliveries together) each can take.
CREATE TABLE post_office_slots (
    post_office_id uuid NOT NULL REFERENCES post_offices (id),
    start_min      integer NOT NULL,
    end_min        integer NOT NULL,
    capacity       integer NOT NULL CONSTRAINT post_office_slots_capacity_check CHECK (capacity > 0 AND capacity <= 10000),
    PRIMARY KEY (post_office_id, start_min),
    CONSTRAINT post_office_slots_window_check CHECK (start_min >= 0 AND start_min < end_min AND end_min <= 1440)
);

-- A slot's use is counted over live stops of one office and day.
CREATE INDEX tasks_slot_use_idx ON tasks (post_office_id, scheduled_for, slot_start_min)
    WHERE slot_start_min IS NOT NULL AND state IN ('open', 'scheduled', 'assigned', 'in_progress');

-- One rating per dossier, from its applicant, after the result reached them.
CREATE TABLE dossier_ratings (
    dossier_id uuid PRIMARY KEY REFERENCES dossiers (id),
    stars      smallint NOT NULL CONSTRAINT dossier_ratings_stars_check CHECK (stars BETWEEN 1 AND 5),
    comment    text NOT NULL DEFAULT '' CONSTRAINT dossier_ratings_comment_check CHECK (char_length(comment) <= 1000),
    rated_at   timestamptz NOT NULL
);

-- How an applicant wants to be messaged, by the blind index of their phone (the phone
-- itself is on their dossiers).
CREATE TABLE notification_preferences (
    phone_index text PRIMARY KEY,
    channel     text NOT NULL CONSTRAINT notification_preferences_channel_check CHECK (channel IN ('any', 'sms', 'zalo')),
    opted_out   boolean NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE notification_preferences;
DROP TABLE handover_misses;
DROP TABLE dossier_ratings;
DROP INDEX tasks_slot_use_idx;
DROP TABLE post_office_slots;
ALTER TABLE procedures DROP COLUMN collection_surcharge_vnd;
ALTER TABLE dossiers
    DROP COLUMN handover_sealed,
    DROP COLUMN handover_expires_at,
    DROP COLUMN handover_failures,
    DROP COLUMN delivery_choice,
    DROP COLUMN surcharge_vnd;
