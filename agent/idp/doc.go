// Package idp reconciles a Clay workspace's roster with identity
// providers: it reads who is active from Microsoft Entra ID, Okta, Google
// Workspace or any CSV, and says of every Clay member and pending
// invitation whether the company's directory still counts them in.
//
// # Sources
//
// A source is a file or a live directory, written as a spec (ParseSpec):
//
//	users.csv                    an export file, its format detected
//	okta-csv:users.csv           an export file in the named format
//	okta:https://acme.okta.com   Okta's Users API, live
//	entra:contoso.onmicrosoft.com Microsoft Graph, live (tenant id or domain)
//
// Export files are detected from their shape, JSON by its top-level value
// and CSV by its header row (names compared ignoring case, spaces,
// punctuation and bracketed notes; a byte order mark, extra columns and
// semicolon or tab delimiters are tolerated):
//
//   - entra-csv: Entra's "Download users" CSV, with userPrincipalName and
//     accountEnabled (True/False); mail, displayName and userType are used.
//   - graph-json: the JSON of Graph's GET /v1.0/users, {"value":[...]},
//     with mail, userPrincipalName, accountEnabled, otherMails,
//     proxyAddresses, displayName and userType. A saved page with an
//     @odata.nextLink is refused as incomplete.
//   - okta-json: the JSON of Okta's GET /api/v1/users, an array of users
//     with status and profile.login, email, secondEmail, firstName,
//     lastName.
//   - okta-csv: a CSV with a status column and a login or email column.
//   - google-csv: the Google Workspace admin console's user download,
//     with "Email Address [Required]" and "Status [READ ONLY]".
//   - csv: any CSV read through a ColumnMap (email=COL,status=COL, and
//     optionally name=COL and aliases=COL) with the status words that mean
//     active. A ColumnMap given with WithColumns applies to csv:PATH and to
//     any CSV without an explicit format whose header has its columns.
//
// Live directories read their secrets from a file or the environment,
// never from a spec or a flag value: Okta's API token from
// WithOktaTokenFile or OKTA_API_TOKEN (sent as "Authorization: SSWS …");
// Entra's client credentials from WithEntraClientID or AZURE_CLIENT_ID and
// WithEntraSecretFile or AZURE_CLIENT_SECRET, exchanged at
// login.microsoftonline.com/TENANT/oauth2/v2.0/token for an app-only Graph
// token (the app needs the User.Read.All application permission). A
// secret file is read by package secret (a regular file of the effective
// user, mode 0600 or stricter, links followed, at most 4 KiB, white space
// around it ignored), and every live source's secret is read before the
// first request (CheckCredentials reads them without any). Okta is
// read as GET /api/v1/users?limit=200 and then, because that list leaves
// deactivated users out, GET /api/v1/users?filter=status eq
// "DEPROVISIONED"; both are paged through Link: rel="next". Graph is read
// as GET /v1.0/users?$select=…&$top=999, paged through @odata.nextLink.
// Pagination links to another host are refused, so a credential is only
// ever sent where it belongs.
//
// Each request is retried a bounded number of times (WithRetry): network
// errors and 5xx responses after an exponential backoff with jitter, 429
// responses after the wait Retry-After (or Okta's X-Rate-Limit-Reset)
// asks for, up to WithMaxRetryAfter. A 401 or 403 fails at once with an
// error matching ErrAuth; no error message ever holds a token or secret.
// A download that fails on any page returns an error wrapping
// ErrIncomplete and no directory: a partial directory would report active
// people as absent.
//
// Every source yields a Directory: its display name, format, digest (the
// SHA-256 of the file, or of the canonical list of a live directory's
// people) and people. Bad input (an unreadable file, an unknown header, a
// CSV without an email column, a source without people, one address
// listed twice with conflicting statuses) wraps ErrBadSource; the same
// address listed twice with statuses that agree is merged.
//
// # Statuses
//
// Each person's Status is the source's own value; Active says whether it
// counts as active:
//
//   - Entra and Graph: accountEnabled true. Guests (userType Guest) count
//     like members, but their domains are not taken for company domains.
//   - Okta: ACTIVE, RECOVERY, PASSWORD_EXPIRED and LOCKED_OUT are active:
//     the person is employed and keeps access once a password is reset or
//     the account unlocked. STAGED and PROVISIONED are not active yet (the
//     person cannot sign in); SUSPENDED (blocked by an administrator) and
//     DEPROVISIONED (deactivated, Okta's offboarding) are not active. The
//     admin console's labels (Deactivated, Pending user action, Password
//     reset, Locked out, …) are read as these statuses; any other value is
//     refused rather than guessed.
//   - Google Workspace: Active is active; Suspended and Archived are not;
//     any other value is refused.
//   - Any CSV: the status words given with the ColumnMap are active,
//     ignoring case; every other value, an empty cell included, is not.
//
// # Matching
//
// Addresses are compared whole, ignoring the case of ASCII letters and
// nothing else (roster.NormalizeEmail): al@acme.test is not sal@acme.test,
// and kal@acme.test is not kal@acme.test.io. A person is found by the
// primary address and by every alias the source gives: Entra's
// userPrincipalName, otherMails and the smtp: entries of proxyAddresses
// (x500:, sip: and other kinds are not addresses); Okta's login when it is
// an address, and secondEmail; a ColumnMap's aliases column. A
// DomainAlias old.com=new.com makes a Clay address at old.com be looked up
// at new.com as well (one way only).
//
// When several sources are given, a person is active if any source says
// so. Index.Lookup returns the winning account: an active one first, then
// one found without a domain alias, then the account whose primary address
// matched, then the first source given.
//
// # Findings
//
// Reconcile gives each Clay member one Finding:
//
//   - active: a source says the address is active;
//   - inactive-in-idp: a source knows the address, none says it is active;
//   - not-in-idp: no source knows it, and its domain is a company domain;
//   - external: no source knows it, and its domain is not a company domain.
//
// Pending invitations get the same words with an "invitation-" prefix.
// Rows of the Team page whose address could not be read are kept as
// unreadable (invitation-unreadable), their raw text as the name.
//
// Domains compare whole and ignoring ASCII case: a subdomain is another
// domain. Without company domains, the domains of the primary addresses
// of the directories' people (guests left out) are taken. The From domain
// of a DomainAlias whose To is a company domain is a company domain too.
package idp
