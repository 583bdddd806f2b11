-- Why: metrics (issue 15). A `metrics` scope lets a key read `GET /metrics` and nothing else,
-- so the key in a Prometheus configuration can do no harm. Like `admin` it names no
-- distribution.
alter table api_key_scopes drop constraint api_key_scopes_permission;
alter table api_key_scopes add constraint api_key_scopes_permission
    check (permission in ('admin', 'publish', 'remove', 'read', 'metrics'));
alter table api_key_scopes drop constraint api_key_scopes_target;
alter table api_key_scopes add constraint api_key_scopes_target check (
    case when permission in ('admin', 'metrics') then distro is null and repo is null
         else distro is not null end);
