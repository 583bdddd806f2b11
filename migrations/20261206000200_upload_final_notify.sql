-- Why: synchronous publish (issue 15). `POST /{distro}/{repo}?wait=SECONDS` holds its answer
-- until the upload is final; the api learns that from this notification instead of polling.
-- The payload is the upload's id.
create function uploads_final_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('rieter_upload_final', new.id::text);
    return null;
end
$$;

create trigger uploads_final_notify
    after update of status on uploads
    for each row
    when (new.status in ('published', 'failed') and old.status is distinct from new.status)
    execute function uploads_final_notify();
