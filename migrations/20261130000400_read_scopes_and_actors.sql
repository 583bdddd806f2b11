-- Why: least privilege (issue 10). A `read` scope lets a key read a private distribution (or
-- one repository of it) and nothing else, so the key in a pacman.conf cannot publish or remove.
-- Like the other scopes it names its distribution, and optionally a repository.

alter table api_key_scopes drop constraint api_key_scopes_permission;
alter table api_key_scopes add constraint api_key_scopes_permission
    check (permission in ('admin', 'publish', 'remove', 'read'));
