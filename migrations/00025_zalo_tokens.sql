-- Expand. The Zalo Official Account's tokens, one row per Zalo app: the refresh token is single-use
-- and each refresh returns a new one, so it lives in the database that every courierd
-- process shares rather than in a setting. Both tokens are sealed with the data keys.
-- version counts the refreshes, so that an operator sees the tokens move.

-- +goose Up
CREATE TABLE zalo_tokens (
    app_id                text PRIMARY KEY,
    refresh_token_sealed  text NOT NULL,
    access_token_sealed   text NOT NULL DEFAULT '',
    access_expires_at     timestamptz,
    version               bigint NOT NULL DEFAULT 1,
    updated_at            timestamptz NOT NULL
);

-- +goose Down
DROP TABLE zalo_tokens;
