-- The map's outlines are read by the post offices located around a view (GET
-- /v1/map/outlines, public): an index on the offices' position keeps that a range scan
-- however many offices the country has.

-- +goose Up
CREATE INDEX post_offices_location ON post_offices (lon, lat);

-- +goose Down
DROP INDEX post_offices_location;
