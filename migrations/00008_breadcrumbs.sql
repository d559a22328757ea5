-- Couriers' GPS breadcrumbs, partitioned by day so that old days are dropped whole when
-- their retention ends, and the latest position per courier, kept apart so that reading
-- it never scans the track. Breadcrumbs are couriers' personal data (location).

-- +goose Up
CREATE TABLE breadcrumbs (
    device_id   uuid NOT NULL,
    point_seq   bigint NOT NULL,
    at          timestamptz NOT NULL,
    courier_id  uuid NOT NULL,
    lat         double precision NOT NULL,
    lon         double precision NOT NULL,
    accuracy_m  real NOT NULL,
    speed_mps   real,
    heading_deg real,
    battery_pct smallint,
    received_at timestamptz NOT NULL,
    -- A replayed point has the same device, number and time: it is stored once.
    PRIMARY KEY (device_id, point_seq, at)
) PARTITION BY RANGE (at);

CREATE TABLE courier_positions (
    courier_id uuid PRIMARY KEY REFERENCES couriers (id),
    at         timestamptz NOT NULL,
    lat        double precision NOT NULL,
    lon        double precision NOT NULL,
    accuracy_m real NOT NULL
);

-- +goose Down
DROP TABLE courier_positions;
DROP TABLE breadcrumbs;
