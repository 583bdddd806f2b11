-- Why: count how often a parse job started on each upload. apalis re-delivers the job of a
-- worker that died (once its heartbeats stop) without any limit, so a package that crashes
-- the worker (an OOM kill, an abort) would take down one worker after another. The parse job
-- counts its own starts here and fails the upload after a few that never finished.
alter table uploads add column parse_attempts integer not null default 0;
