CREATE TABLE app_customers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    tier        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    enrolled_at BIGINT NOT NULL,
    station     TEXT NOT NULL,
    attributes  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE app_usage (
    customer TEXT NOT NULL,
    start_us BIGINT NOT NULL,
    kwh      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (customer, start_us)
);
CREATE TABLE app_temperature (
    station  TEXT NOT NULL,
    start_us BIGINT NOT NULL,
    temp_f   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (station, start_us)
);
CREATE TABLE app_models (
    customer   TEXT PRIMARY KEY,
    method     TEXT NOT NULL,
    start_us   BIGINT NOT NULL,
    end_us     BIGINT NOT NULL,
    model      TEXT NOT NULL,
    fitted_at  BIGINT NOT NULL
);
CREATE TABLE app_rulesets (
    version     BIGINT PRIMARY KEY,
    program     TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    source      TEXT NOT NULL,
    status      TEXT NOT NULL,
    promoted    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE TABLE app_settlements (
    customer     TEXT NOT NULL,
    fact_id      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    start_us     BIGINT NOT NULL,
    end_us       BIGINT NOT NULL,
    baseline_kwh DOUBLE PRECISION NOT NULL,
    observed_kwh DOUBLE PRECISION NOT NULL,
    savings_kwh  DOUBLE PRECISION NOT NULL,
    fact         TEXT NOT NULL,
    version      BIGINT NOT NULL,
    points       TEXT NOT NULL,
    settled_at   BIGINT NOT NULL,
    PRIMARY KEY (customer, fact_id)
);
CREATE INDEX app_settlements_start ON app_settlements (start_us);
