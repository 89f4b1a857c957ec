// Package scim is a SCIM 2.0 service (RFC 7643, RFC 7644) for one Clay
// workspace. Identity providers such as Okta and Microsoft Entra ID
// provision and deprovision Clay seats through it; the actions themselves
// are performed by a Backend (the browser flows), one at a time, from a
// single worker goroutine.
//
// # Model
//
// Users are the workspace's members and pending invitations, both with
// active true; the extension urn:clay-agent:params:scim:schemas:extension:clay:2.0:User
// says which (pending: true for an invitation) and holds the Clay role
// (role, writable) and the Clay address (email, read-only). A user who is
// in neither list has active false: deactivated through SCIM, or removed
// from Clay by other means. Such users stay resources until DELETE.
//
// A user's id is derived from the Clay address alone (UserID): the first
// 32 hex digits of the SHA-256 of the address, trimmed and with ASCII
// letters lower-cased. It is stable across restarts and independent of
// the page. The Clay address is chosen once, when the user is created
// (Config.EmailFrom: the primary work email, else the primary email, else
// the work email, else userName; or userName), and never changes: a
// later change of the user's emails is kept as an attribute but does not
// move the Clay seat.
//
// The store keeps, per user, the attributes the client set (userName,
// name, emails, externalId, displayName, the other core and enterprise
// attributes) and the state last known in Clay (active, pending, role).
// Users first seen on the Team page get userName and a work email equal to
// their address and the page's name as displayName. A user whose stored
// attributes have no name shows one derived from its displayName, else its
// address (splitName): the last word is the family name and the rest the
// given name; "Family, Given" and names in CJK scripts put the family name
// first; a name of one word is both; an address's local part is split on
// ".", "_" and "-". A PATCH of one part of a derived name keeps the others.
//
// Groups are fixed, one per Clay role: "Clay Admin" (id role-admin),
// "Clay Editor" (role-editor), "Clay Viewer" (role-viewer) and
// "Clay Sales rep" (role-sales-rep). A group's members are the active
// users holding its role, and the ones the client put in it. Adding a
// user to a group (PATCH add members, PUT, PATCH replace) sets that role;
// a user the client put in more than one role group gets the most
// privileged of their roles (Admin, Editor, Viewer, Sales rep, in that
// order), and the conflict is logged as a warning. Removing a user from a
// group sets the most privileged role of the groups it is still in, else
// Config.DefaultRole (so with the default role's own group, removal
// changes nothing). The groups the client put a user in count while the
// user's role is the one they call for; once the role is changed
// otherwise (on the page, through the role attribute), the user is in the
// group of its role alone. Groups cannot be created or deleted; a rename
// (a PATCH or PUT with another displayName, as Okta sends for the groups
// it pushes) is answered as a success and ignored.
//
// A member's role is set on the Team page in place. A pending
// invitation's role cannot be: the service revokes the invitation and
// invites the address again with the new role (the person receives a new
// invitation email), then reads the page again to verify it. A role the
// invitation already has does nothing: no revoke, no new email. When the
// new invitation fails, the address is invited again with the old role
// and the answer is 502, saying the role was not changed and the
// invitation is back with the old role; when that fails too, the answer
// says the user has no invitation, and it is logged as an error (both
// invitations are in the audit log as failed).
//
// With Config.RoleMap, the app roles of a user's roles attribute
// (Microsoft Entra's) set the Clay role too: the primary one's, else the
// one they all map to; an app role the map does not name is 400
// invalidValue. Without it, roles are kept and not acted on.
//
// # Requests
//
//	GET    /Users, /Users/{id}     read from the store (see Reads)
//	POST   /Users/.search          as GET /Users, the SearchRequest being the query
//	POST   /Users                  invite the Clay address with the extension's role, else DefaultRole;
//	                               with active false, only keep the resource
//	PATCH  /Users/{id}             active false: offboard; active true on an inactive user: invite again;
//	                               the extension's role (or a mapped app role) on an active user: set the
//	                               role (a pending invitation's: revoke it and invite again with the
//	                               role); removing active or the role: 400 mutability;
//	                               other attributes: kept, no action
//	PUT    /Users/{id}             as PATCH, for the whole resource; an absent active changes nothing
//	DELETE /Users/{id}             offboard, then remove the resource (404 after)
//	GET    /Groups, /Groups/{id}   the role groups
//	POST   /Groups/.search         as GET /Groups
//	PATCH  /Groups/{id}, PUT       set roles as above; 204 for PATCH, 200 with the group for PUT
//	POST   /Groups                 409 uniqueness for a role group's name (200 with the group in
//	                               ConflictReturnExisting mode), else 400 mutability
//	DELETE /Groups/{id}            400 mutability
//	GET    /ServiceProviderConfig, /ResourceTypes, /Schemas
//	GET    /healthz                no token; 200, or 503 with a reason
//
// A POST for a user who is already a member or invited answers 409
// uniqueness (ConflictError), or 200 with the existing resource, updated
// with the request's attributes (ConflictReturnExisting; still 409 when
// the resource carries another externalId). A POST for an inactive user
// invites them again, reusing the resource. A userName held by another
// user is a 409 too. PATCH understands what Okta and Entra send:
// op names in any case, booleans as "True"/"False", a path-less value
// object ({"op":"Replace","value":{"active":false}}), paths such as
// name.givenName, emails[type eq "work"].value and URN-qualified ones;
// an add or replace whose filter matches no value adds one. Entra's
// periodic PATCH of active true on an active user does nothing.
//
// Filters: userName, externalId, id, emails.value (or emails) and
// emails[type eq "…"].value for users, displayName, id and externalId for
// groups, each with eq only (attribute names and operator in any case);
// anything else, an unquoted value included, is 400 invalidFilter. Email
// addresses compare ignoring case whatever the attribute. Paging is 1-based with startIndex and count
// (default 100, at most 200, 0 allowed); attributes and
// excludedAttributes select what is returned (id and schemas always).
// Every resource has meta.location (from Config.BaseURL, else from the
// request), meta.created, meta.lastModified and meta.version, a weak ETag
// that changes whenever the resource does; If-Match on PUT, PATCH and
// DELETE answers 412 when it names another version, If-None-Match on GET
// 304 when it names the current one.
//
// # Reads
//
// Reads are answered from the store, which the worker keeps in line with
// the Team page: after each action the worker reads the roster again (in
// the background, after the queued actions), and whenever it is idle and
// the roster is older than MaxRosterAge. A read that finds the roster
// older than that is answered from it at once and asks the worker for a
// new one. The store keeps when its roster was read, so after a restart
// reads are answered at once from the kept roster while the worker reads
// it again; only the first read of a first start, with an empty store,
// waits for one, and /healthz is unavailable until then. So no browser
// work happens on a read's path, and reads meet the identity providers'
// time limits (Okta's test suite allows 600 ms). Reads carry the kept
// roster's age in seconds in RosterAgeHeader.
// Mutations judge the user's state by the same rule; the flows check the
// page again when they act. A roster read that failed answers with the
// failure for 10 seconds before one is tried again.
//
// # Queue and crash recovery
//
// Every action is a job kept in the store. A request queues its job in
// the same transaction that checks the user's state, then waits up to
// MutationWait; past it the answer is 503 with Retry-After and the job
// goes on. Requests are judged against the state the user will have once
// the pending jobs are done, so a repeated request never acts twice: a
// repeat of a pending POST joins its job; a repeat of a PATCH or DELETE
// finds the change already queued and waits for that job; a repeat of a
// request that was answered 503, arriving after its job finished (within
// an hour), gets the job's answer (201 for a POST, 204 for a DELETE), once.
// A request whose answer was delivered is not repeated by a later one: a
// second POST of an existing user is 409 uniqueness, a second DELETE 404.
//
// The worker marks a job running in a committed transaction before it
// calls the backend, and marks it done, with the result applied to the
// user, in one transaction right after. After a crash (kill -9) Run
// resumes the jobs still queued or running, oldest first. A running job
// may or may not have acted before the crash, so it is done again; this
// is safe because every backend action is idempotent on the page: it reads
// the page first and reports already-invited, already-absent or unchanged
// instead of acting twice. A job interrupted by a crash is thus called once
// more and takes effect exactly once; a queued job, never started, is
// called exactly once.
//
// The role change of a pending invitation is one job of three steps:
// revoke, invite with the new role, verify (then, on failure, invite with
// the old role). The job records each step in the store before the step
// starts; after a crash it resumes from the step it was in, and only that
// step is done again (a revoke already done is already-absent, an
// invitation already sent already-invited).
//
// # Breaker, limits and dry runs
//
// At most MaxRemovalsPerHour removals happen in any hour. The next
// offboarding is refused with 503 and the detail "deprovisioning paused:
// more than N removals in the last hour", OnTrip is called once, and the
// breaker stays open until the window slides; reads, invitations and role
// changes go on. Removals are kept in the store, so a restart does not
// reset the count; an already-absent result of a job resumed after a crash
// counts as a removal, as its first attempt may have been one. The revoke
// of a pending invitation's role change is no removal: it does not count,
// and it goes on while the breaker is open.
//
// Each client (the X-Scim-Client header, else the remote address) gets
// RatePerClient requests per second with bursts of Burst; more get 429
// with Retry-After. Bodies larger than MaxBody get 413. The bearer token
// is compared in constant time and never logged.
//
// With DryRun, jobs are queued and answered as if acted, their outcome
// judged from the store, but the backend is never called for a mutation
// (it is still called to read the roster, so the next roster read shows
// the workspace as it really is).
//
// # Answers
//
// Errors use the SCIM error schema, with status as a string:
//
//	400 invalidSyntax   bad JSON, not an object, unknown attribute in a body, bad PatchOp
//	400 invalidPath     unknown attribute or bad path in a PATCH operation
//	400 invalidValue    wrong type, unknown role or app role, no address to invite, bad startIndex or count
//	400 invalidFilter   a filter other than the supported ones
//	400 mutability      a read-only attribute changed, active or the role removed, a group created
//	                    or deleted
//	400 noTarget        remove without a path
//	401                 no or wrong bearer token (with WWW-Authenticate: Bearer)
//	403                 an action refused by a safety rule (core.ErrRefused: the signed-in
//	                    user, the last Admin, an address outside the allowed domains)
//	404                 unknown id or endpoint
//	405                 method not allowed (with Allow)
//	409 uniqueness      the user exists (POST), the userName is taken
//	412                 If-Match names another version
//	413                 body larger than MaxBody
//	429                 rate limit (with Retry-After)
//	501                 /Bulk, /.search at the root
//	502                 the action failed on the page: not verified (core.ErrNotVerified),
//	                    the page changed (ErrPageChanged), the page showed an error
//	503                 the action or roster read outlasted MutationWait, the breaker is open,
//	                    the session needs a new login (ErrLoginRequired), a transient page
//	                    failure, the service is shutting down; all with Retry-After
//	500                 only when the state store fails (or on a recovered panic, a bug)
//
// A failed action is the service's problem, not the client's, hence 502
// and 503 rather than 4xx; a refusal is final until the workspace or the
// rules change, hence 403.
//
// # Store
//
// The state is one bbolt file (Config.StatePath, mode 0600) with the
// buckets users (id → user), jobs (sequence → job), queue (the pending
// jobs' sequences), latest (user id → the user's latest job), removals
// (the breaker's window), requests (the request log: time, request id,
// client, method, path, status, scimType, the jobs and how they ended;
// never a header but X-Request-Id and X-Scim-Client) and meta (format
// version, creation time). Finished jobs are pruned after 7 days, the
// request log after 90.
package scim
