-- Version 5: submit() takes no payload over the nodes' limits.maxPayloadBytes. Every node writes its
-- limit to the meta row 'max_payload_bytes' when it opens the store (store.ts), so the last node to
-- start sets it (give every node the same limits); before any node has, the default, 16 MiB, holds.
-- A node takes jobs into its window with their payloads: without this, one application bug could
-- store payloads of up to 1 GiB that no node could hold. The rest is submit() of version 4, unchanged.

CREATE OR REPLACE FUNCTION submit(
  function text,
  payload bytea,
  unique_key text DEFAULT '',
  priority text DEFAULT 'normal',
  run_at timestamptz DEFAULT NULL,
  tags text[] DEFAULT NULL
) RETURNS text
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
DECLARE
  fn text := submit.function;
  uk text := coalesce(submit.unique_key, '');
  prio smallint;
  now_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  run_ms bigint;
  st text := 'queued';
  ck bytea;
  kept text[];
  new_id bigint;
  new_handle text;
  found_handle text;
  max_payload bigint;
BEGIN
  IF fn IS NULL OR fn = '' THEN
    RAISE EXCEPTION 'LAZ_BAD_FUNCTION_NAME: Function name is empty' USING ERRCODE = '22023';
  END IF;
  IF octet_length(fn) > 512 THEN
    RAISE EXCEPTION 'LAZ_BAD_FUNCTION_NAME: Function name of % bytes is over the limit of 512', octet_length(fn) USING ERRCODE = '22023';
  END IF;
  IF fn ~ '[\x01-\x1f\x7f-\x9f\ufffd]' THEN
    RAISE EXCEPTION 'LAZ_BAD_FUNCTION_NAME: Function name contains a control character or U+FFFD' USING ERRCODE = '22023',
      HINT = 'function names are printable UTF-8 text without tabs, newlines or other control characters';
  END IF;
  IF submit.payload IS NULL THEN
    RAISE EXCEPTION 'LAZ_BAD_REQUEST: payload is NULL (give an empty bytea for none)' USING ERRCODE = '22023';
  END IF;
  SELECT value INTO max_payload FROM meta WHERE key = 'max_payload_bytes';
  max_payload := coalesce(max_payload, 16777216);
  IF octet_length(submit.payload) > max_payload THEN
    RAISE EXCEPTION 'LAZ_PAYLOAD_TOO_LARGE: Payload of % bytes is over the limit of %', octet_length(submit.payload), max_payload
      USING ERRCODE = '22023', HINT = 'Store big data elsewhere and pass a reference, or raise limits.maxPayloadBytes on the nodes.';
  END IF;
  IF octet_length(uk) > 64 THEN
    RAISE EXCEPTION 'LAZ_BAD_REQUEST: unique_key must be at most 64 bytes, not %', octet_length(uk) USING ERRCODE = '22023';
  END IF;
  prio := CASE submit.priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 WHEN 'low' THEN 2 END;
  IF prio IS NULL THEN
    RAISE EXCEPTION 'LAZ_BAD_REQUEST: priority must be high, normal or low, not %', coalesce(quote_literal(submit.priority), 'NULL') USING ERRCODE = '22023';
  END IF;
  IF submit.run_at IS NOT NULL THEN
    IF NOT isfinite(submit.run_at) OR submit.run_at < 'epoch'::timestamptz OR submit.run_at >= '10000-01-01T00:00:00Z'::timestamptz THEN
      RAISE EXCEPTION 'LAZ_BAD_REQUEST: run_at % is not a time Lazaret can store (1970 to 9999)', submit.run_at USING ERRCODE = '22023';
    END IF;
    run_ms := floor(extract(epoch FROM submit.run_at) * 1000)::bigint;
    IF run_ms > now_ms THEN
      st := 'scheduled';
    END IF;
  END IF;
  IF submit.tags IS NOT NULL THEN
    IF array_ndims(submit.tags) > 1 THEN
      RAISE EXCEPTION 'LAZ_BAD_REQUEST: tags must be a one-dimensional array' USING ERRCODE = '22023';
    END IF;
    -- Each tag once, in the order given, as the HTTP API keeps them.
    SELECT array_agg(t ORDER BY o) INTO kept
      FROM (SELECT t, min(o) AS o FROM unnest(submit.tags) WITH ORDINALITY AS u(t, o) GROUP BY t) d;
    IF EXISTS (SELECT 1 FROM unnest(kept) AS t WHERE t IS NULL OR t = '' OR char_length(t) > 200) THEN
      RAISE EXCEPTION 'LAZ_BAD_REQUEST: each tag must be 1 to 200 characters (not NULL)' USING ERRCODE = '22023';
    END IF;
    IF coalesce(array_length(kept, 1), 0) > 32 THEN
      RAISE EXCEPTION 'LAZ_BAD_REQUEST: at most 32 tags, not %', array_length(kept, 1) USING ERRCODE = '22023';
    END IF;
    IF coalesce(array_length(kept, 1), 0) = 0 THEN
      kept := NULL;
    END IF;
  END IF;
  -- The coalescing key exactly as storage/coalesce-key.ts computes it: none for an empty unique; for
  -- '-', NUL, '-' and the base64 SHA-256 of the payload; else the unique itself, as UTF-8 bytes.
  ck := CASE
    WHEN uk = '' THEN NULL
    WHEN uk = '-' THEN '\x00'::bytea || convert_to('-' || encode(sha256(submit.payload), 'base64'), 'UTF8')
    ELSE convert_to(uk, 'UTF8')
  END;
  LOOP
    new_id := nextval('submit_id');
    new_handle := 'H:sql:' || new_id;
    INSERT INTO jobs (id, handle, function, unique_key, payload, priority, submitted_at, run_at, deadline, tags,
      state, seq, coalesce_key, queued_at)
    VALUES (new_id, new_handle, fn, uk, submit.payload, prio, now_ms, run_ms, NULL, kept,
      st, nextval('job_seq'), ck, CASE WHEN st = 'scheduled' THEN run_ms ELSE now_ms END)
    ON CONFLICT (function, coalesce_key) WHERE coalesce_key IS NOT NULL DO NOTHING;
    IF FOUND THEN
      -- Delivered when the caller's transaction commits, once per queue however many it submits (the
      -- payload as notify.ts writes it: priority, space, function); the nodes serving it read the
      -- counts (and the earliest run-at, for a scheduled job) at once.
      PERFORM pg_notify(left('lazaret_' || current_schema(), 63), prio || ' ' || fn);
      RETURN new_handle;
    END IF;
    -- A stored job of this function has the key: the submission joins it.
    SELECT j.handle INTO found_handle FROM jobs j WHERE j.function = fn AND j.coalesce_key = ck;
    IF found_handle IS NOT NULL THEN
      RETURN found_handle;
    END IF;
    -- It finished between the two statements: try again.
  END LOOP;
END;
$$;
