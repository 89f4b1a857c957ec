package scim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
)

// Headers the service reads or writes besides the standard ones.
const (
	// RequestIDHeader carries the request's id: taken from the request
	// when it is a plain token of at most 128 characters, else generated;
	// always echoed in the response.
	RequestIDHeader = "X-Request-Id"
	// ClientHeader names the client, for the request log and the rate
	// limit; without it the client is the remote address.
	ClientHeader = "X-Scim-Client"
)

// contentType is the media type of every SCIM response.
const contentType = "application/scim+json; charset=utf-8"

// route is the operation a request asks for, the op label of
// MetricRequests.
type route string

const (
	routeUsersList     route = "users.list"
	routeUsersGet      route = "users.get"
	routeUsersCreate   route = "users.create"
	routeUsersReplace  route = "users.replace"
	routeUsersPatch    route = "users.patch"
	routeUsersDelete   route = "users.delete"
	routeUsersSearch   route = "users.search"
	routeGroupsList    route = "groups.list"
	routeGroupsGet     route = "groups.get"
	routeGroupsCreate  route = "groups.create"
	routeGroupsReplace route = "groups.replace"
	routeGroupsPatch   route = "groups.patch"
	routeGroupsDelete  route = "groups.delete"
	routeGroupsSearch  route = "groups.search"
	routeDiscovery     route = "discovery"
	routeUnknown       route = "unknown"
)

// LogEntry is one line of the request log kept in the store. It holds no
// header but the request id and the client's name: never Authorization.
type LogEntry struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`
	Client    string    `json:"client"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Query     string    `json:"query,omitempty"`
	Op        string    `json:"op"`
	Status    int       `json:"status"`
	ScimType  string    `json:"scim_type,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	// Jobs are the actions the request queued or waited for.
	Jobs   []JobRef `json:"jobs,omitempty"`
	Millis int64    `json:"ms"`
}

// JobRef is an action a request queued (Joined false) or waited for, and
// how it ended as far as the request saw: Action is empty while it runs.
type JobRef struct {
	Seq    uint64 `json:"seq"`
	Op     string `json:"op"`
	Email  string `json:"email,omitempty"`
	Joined bool   `json:"joined,omitempty"`
	Action string `json:"action,omitempty"`
	OK     bool   `json:"ok"`
}

// RequestLog returns the request log from since on, oldest first.
func (s *Server) RequestLog(since time.Time) ([]LogEntry, error) {
	return s.st.requests(since)
}

// Bounds of what a request may send, and of what the request log keeps.
const (
	// MaxHeaderBytes bounds the request line and headers together; the
	// http.Server serving Handler should set it (net/http answers 431).
	MaxHeaderBytes = 16 << 10
	// MaxPathBytes and MaxQueryBytes bound the path and query: a longer
	// one is answered 414 before anything else is done.
	MaxPathBytes  = 2 << 10
	MaxQueryBytes = 4 << 10
	// LoggedPathBytes and LoggedQueryBytes are how much of each the
	// request log keeps.
	LoggedPathBytes  = 256
	LoggedQueryBytes = 512
)

// call is the state of one request.
type call struct {
	// authenticated is set once the request showed the token: only such
	// requests are kept in the request log.
	authenticated bool
	entry         *LogEntry
	req           Request
	base          string
	// deadline bounds the request's waits (for a roster read, then for
	// its actions) together: MutationWait from its start.
	deadline time.Time
}

// wait returns how long the request may still wait, at most limit.
func (c *call) wait(limit time.Duration) time.Duration {
	if c.deadline.IsZero() {
		return limit
	}
	return min(limit, max(0, time.Until(c.deadline)))
}

type callKey struct{}

func callOf(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		c = &call{entry: &LogEntry{}}
	}
	return c
}

// noteJobs records the jobs a request waits for in its log entry.
func (c *call) noteJobs(ws []*waiter, added []*job) {
	for _, w := range ws {
		ref := JobRef{Seq: w.seq, Joined: true}
		for _, j := range added {
			if j.Seq == w.seq {
				ref.Joined, ref.Op, ref.Email = false, string(j.Op), j.Email
			}
		}
		select {
		case <-w.done:
			ref.Action, ref.OK = string(w.out.Action), w.out.OK
		default:
		}
		c.entry.Jobs = append(c.entry.Jobs, ref)
	}
}

// Handler serves the SCIM API under /scim/v2 (bearer token required) and
// GET /healthz (no token): 200 with Health as JSON, or 503 when it is
// unavailable.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.serveHealth)
	api := http.HandlerFunc(s.serveAPI)
	mux.Handle("/scim/v2", api)
	mux.Handle("/scim/v2/", api)
	mux.Handle("/", api)
	return mux
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := s.Health().Public()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if h.OK() {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(h)
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// serveAPI authenticates, limits and logs a request, then routes it.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	c := &call{entry: &LogEntry{
		Time: start, RequestID: requestID(r), Method: logMethod(r.Method), Path: truncate(r.URL.EscapedPath(), LoggedPathBytes),
		Query: loggedQuery(r.URL.RawQuery), Op: string(routeUnknown),
	}}
	c.req.ID = c.entry.RequestID
	c.deadline = time.Now().Add(s.cfg.MutationWait)
	sw := &statusWriter{ResponseWriter: w}
	w = sw
	w.Header().Set(RequestIDHeader, c.entry.RequestID)
	r = r.WithContext(context.WithValue(r.Context(), callKey{}, c))
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("scim handler panic", zap.Any("panic", p), zap.String("request_id", c.entry.RequestID))
			// a damaged page of the store makes bbolt panic: find out,
			// so that health says so and later requests are not tried
			if err := s.st.check(); err != nil {
				s.log.Error("the state store is corrupt", zap.Error(err))
			}
			if sw.status == 0 {
				s.writeError(w, r, newError(http.StatusInternalServerError, typeNone, "internal error"))
			}
		}
		s.finish(c, sw.status, start)
	}()
	if err := s.st.corruptErr(); err != nil {
		s.writeError(w, r, newError(http.StatusServiceUnavailable, typeNone, "the service's state store is corrupt; it must be restarted with a restored or an empty store"))
		return
	}

	remote := remoteIP(r)
	if len(r.URL.RawQuery) > MaxQueryBytes || len(r.URL.EscapedPath()) > MaxPathBytes {
		s.writeError(w, r, newError(http.StatusRequestURITooLong, typeNone, "the request's path or query is longer than %d or %d bytes", MaxPathBytes, MaxQueryBytes))
		return
	}
	if !s.authorized(r) {
		c.entry.Client = remote
		if ok, wait := s.limiter.allow("unauthenticated "+remote, start); !ok {
			s.writeError(w, r, tooMany(wait))
			return
		}
		s.writeError(w, r, newError(http.StatusUnauthorized, typeNone, "a valid bearer token is required"))
		return
	}
	c.authenticated = true
	client := remote
	if name := cleanToken(r.Header.Get(ClientHeader), 64); name != "" {
		client = name
	}
	c.entry.Client, c.req.Client = client, client
	// the limit is the peer's: a client's name is its own to choose, and
	// every holder of the token is the same identity
	if ok, wait := s.limiter.allow("client "+remote, start); !ok {
		s.writeError(w, r, tooMany(wait))
		return
	}
	c.base = s.baseURL(r)
	if r.ContentLength > s.cfg.MaxBody {
		s.writeError(w, r, tooLarge(s.cfg.MaxBody))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	s.route(w, r, c)
}

// finish logs the request and counts it.
func (s *Server) finish(c *call, status int, start time.Time) {
	if status == 0 {
		status = http.StatusOK
	}
	e := c.entry
	e.Status = status
	e.Millis = s.now().Sub(start).Milliseconds()
	s.metrics.requests.WithLabelValues(e.Op, strconv.Itoa(status)).Inc()
	fields := []zap.Field{
		zap.String("request_id", e.RequestID), zap.String("client", e.Client), zap.String("method", e.Method),
		zap.String("path", e.Path), zap.String("op", e.Op), zap.Int("status", status), zap.Int64("ms", e.Millis),
	}
	if e.ScimType != "" {
		fields = append(fields, zap.String("scim_type", e.ScimType))
	}
	if status >= 500 {
		s.log.Warn("scim request", append(fields, zap.String("detail", e.Detail))...)
	} else {
		s.log.Info("scim request", fields...)
	}
	if !c.authenticated || s.st.corruptErr() != nil {
		// counted above, never stored: whoever has no token cannot fill
		// the disk (and a corrupt store is not written)
		return
	}
	if err := s.st.logRequest(e, s.cfg.RequestLogMaxBytes); err != nil {
		s.log.Warn("the request could not be logged in the store", zap.String("request_id", e.RequestID), zap.Error(err))
	}
}

// secretParam matches query parameters whose values are secrets a client
// may send by mistake: they are never stored.
var secretParam = regexp.MustCompile(`(?i)(token|secret|password|passwd|auth|key|code|credential|signature|sig)`)

// loggedQuery is the query as the request log keeps it: values of
// parameters that look like secrets replaced, then truncated.
func loggedQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if hasValue && secretParam.MatchString(name) {
			parts[i] = url.QueryEscape(name) + "=REDACTED"
		}
	}
	return truncate(strings.Join(parts, "&"), LoggedQueryBytes)
}

// logMethod keeps a method name short: a made-up method can be long.
func logMethod(m string) string { return truncate(m, 16) }

// truncate cuts s to at most n bytes (on a rune boundary), marking the
// cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func tooMany(wait time.Duration) *apiError {
	e := newError(http.StatusTooManyRequests, typeNone, "too many requests; retry after %d seconds", seconds(wait))
	e.retryAfter = wait
	return e
}

func tooLarge(limit int64) *apiError {
	return newError(http.StatusRequestEntityTooLarge, typeNone, "the request body is larger than %d bytes", limit)
}

// authorized checks the bearer token in constant time (both sides hashed
// first, so that not even the length leaks).
func (s *Server) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	want := sha256.Sum256(s.cfg.Token)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// requestID returns the request's X-Request-Id when it is acceptable,
// else a new random one.
func requestID(r *http.Request) string {
	if id := cleanToken(r.Header.Get(RequestIDHeader), 128); id != "" {
		return id
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cleanToken returns s when it is 1 to n characters of letters, digits
// and ".-_:@/ ", else "".
func cleanToken(s string, n int) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > n {
		return ""
	}
	for _, c := range s {
		if !nameChar(c) && !strings.ContainsRune(".:@/ ", c) {
			return ""
		}
	}
	return s
}

func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// baseURL returns the URL of /scim/v2 as clients reach it.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimRight(s.cfg.BaseURL, "/") + "/scim/v2"
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	host := r.Host
	for _, c := range host {
		if !nameChar(c) && !strings.ContainsRune(".:[]", c) {
			host = "localhost"
			break
		}
	}
	if host == "" {
		host = "localhost"
	}
	return scheme + "://" + host + "/scim/v2"
}

func seconds(d time.Duration) int {
	return int(max(1, (d+time.Second-1)/time.Second))
}

// writeJSON writes v as a SCIM response.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encode scim response", zap.Error(err))
		status = http.StatusInternalServerError
		b, _ = json.Marshal(newError(status, typeNone, "encode the response").body())
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes e and notes it in the request's log entry.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	c := callOf(r.Context())
	c.entry.ScimType, c.entry.Detail = string(e.scimType), e.detail
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(seconds(e.retryAfter)))
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
	}
	s.writeJSON(w, e.status, e.body())
}

// writeResource writes a single resource with its ETag.
func (s *Server) writeResource(w http.ResponseWriter, status int, res object, location string) {
	if meta, ok := res["meta"].(map[string]any); ok {
		if v, ok := meta["version"].(string); ok {
			w.Header().Set("ETag", v)
		}
	}
	if location != "" {
		w.Header().Set("Location", location)
	}
	s.writeJSON(w, status, res)
}

// readBody reads the request's JSON object.
func readBody(r *http.Request) (map[string]any, *apiError) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, tooLarge(tooBig.Limit)
		}
		return nil, badRequest(typeInvalidSyntax, "read the body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, badRequest(typeInvalidSyntax, "the body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest(typeInvalidSyntax, "the body holds more than one JSON value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest(typeInvalidSyntax, "the body must be a JSON object")
	}
	return m, nil
}

// methodNotAllowed answers 405 with the methods allowed.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	s.writeError(w, r, newError(http.StatusMethodNotAllowed, typeNone, "%s is not allowed here; use %s", r.Method, strings.Join(allowed, " or ")))
}

// route dispatches an authenticated request.
func (s *Server) route(w http.ResponseWriter, r *http.Request, c *call) {
	if !strings.HasPrefix(r.URL.Path+"/", "/scim/v2/") {
		s.writeError(w, r, notFound("no such endpoint: the SCIM API is under /scim/v2"))
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/scim/v2"), "/")
	resource, id, _ := strings.Cut(rest, "/")
	if strings.Contains(id, "/") {
		s.writeError(w, r, notFound("no such endpoint %q", r.URL.Path))
		return
	}
	set := func(rt route) { c.entry.Op = string(rt) }
	switch strings.ToLower(resource) {
	case "users":
		switch {
		case id == "" && r.Method == http.MethodGet:
			set(routeUsersList)
			s.listUsers(w, r)
		case id == "" && r.Method == http.MethodPost:
			set(routeUsersCreate)
			s.createUser(w, r)
		case id == "":
			s.methodNotAllowed(w, r, http.MethodGet, http.MethodPost)
		case id == searchEndpoint && r.Method == http.MethodPost:
			set(routeUsersSearch)
			s.search(w, r, s.listUsers)
		case id == searchEndpoint:
			s.methodNotAllowed(w, r, http.MethodPost)
		case r.Method == http.MethodGet:
			set(routeUsersGet)
			s.getUser(w, r, id)
		case r.Method == http.MethodPut:
			set(routeUsersReplace)
			s.replaceUser(w, r, id)
		case r.Method == http.MethodPatch:
			set(routeUsersPatch)
			s.patchUser(w, r, id)
		case r.Method == http.MethodDelete:
			set(routeUsersDelete)
			s.deleteUser(w, r, id)
		default:
			s.methodNotAllowed(w, r, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete)
		}
	case "groups":
		switch {
		case id == "" && r.Method == http.MethodGet:
			set(routeGroupsList)
			s.listGroups(w, r)
		case id == "" && r.Method == http.MethodPost:
			set(routeGroupsCreate)
			s.createGroup(w, r)
		case id == "":
			s.methodNotAllowed(w, r, http.MethodGet, http.MethodPost)
		case id == searchEndpoint && r.Method == http.MethodPost:
			set(routeGroupsSearch)
			s.search(w, r, s.listGroups)
		case id == searchEndpoint:
			s.methodNotAllowed(w, r, http.MethodPost)
		case r.Method == http.MethodGet:
			set(routeGroupsGet)
			s.getGroup(w, r, id)
		case r.Method == http.MethodPut:
			set(routeGroupsReplace)
			s.replaceGroup(w, r, id)
		case r.Method == http.MethodPatch:
			set(routeGroupsPatch)
			s.patchGroup(w, r, id)
		case r.Method == http.MethodDelete:
			set(routeGroupsDelete)
			s.deleteGroup(w, r, id)
		default:
			s.methodNotAllowed(w, r, http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete)
		}
	case "serviceproviderconfig", "serviceproviderconfigs", "resourcetypes", "schemas":
		set(routeDiscovery)
		if r.Method != http.MethodGet {
			s.methodNotAllowed(w, r, http.MethodGet)
			return
		}
		s.discovery(w, r, strings.ToLower(resource), id)
	case "bulk":
		s.writeError(w, r, newError(http.StatusNotImplemented, typeNone, "bulk operations are not supported"))
	case searchEndpoint:
		if r.Method != http.MethodPost {
			s.methodNotAllowed(w, r, http.MethodPost)
			return
		}
		s.writeError(w, r, newError(http.StatusNotImplemented, typeNone,
			"a search across resource types is not supported: POST /Users/.search or /Groups/.search"))
	default:
		s.writeError(w, r, notFound("no such endpoint %q", r.URL.Path))
	}
}
