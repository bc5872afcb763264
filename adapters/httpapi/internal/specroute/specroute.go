// Package specroute finds the OpenAPI operation a request addresses, matching
// paths exactly as net/http's ServeMux does. The server's request validation
// and the contract tests both route through it, so they can never disagree
// with the generated ServeMux routes about which operation a request hit —
// kin-openapi's own routers match the decoded path, where an escaped slash in
// a game_id (`..%2Fx`) would name a different route than ServeMux picks.
package specroute

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

var (
	// ErrNotFound: no operation has this path.
	ErrNotFound = errors.New("no such endpoint")
	// ErrNotCanonical: the path has empty, "." or ".." segments. ServeMux
	// would answer with a redirect; the API refuses it instead, since such a
	// path is a malformed game_id in practice (`/runtimes//start`).
	ErrNotCanonical = errors.New("request path is not canonical")
)

// MethodNotAllowedError: the path names operations, none with this method.
type MethodNotAllowedError struct {
	// Allow lists the methods the path has, sorted.
	Allow []string
}

func (e *MethodNotAllowedError) Error() string {
	return fmt.Sprintf("method not allowed (allowed: %s)", strings.Join(e.Allow, ", "))
}

// Router maps requests to the operations of one OpenAPI document.
type Router struct {
	mux     *http.ServeMux
	methods []string // every method the document uses, for the 405 check
}

// routeHandler only carries its route: the mux is used for matching, never
// for serving.
type routeHandler struct{ route *routers.Route }

func (routeHandler) ServeHTTP(http.ResponseWriter, *http.Request) {
	panic("specroute: route handlers are never served")
}

// New registers every operation of doc. Paths use the ServeMux wildcard
// syntax already ({game_id} is one whole segment).
func New(doc *openapi3.T) (*Router, error) {
	rt := &Router{mux: http.NewServeMux()}
	for p, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			route := &routers.Route{Spec: doc, Path: p, PathItem: item, Method: method, Operation: op}
			if err := registerRoute(rt.mux, method+" "+p, routeHandler{route}); err != nil {
				return nil, err
			}
			if !slices.Contains(rt.methods, method) {
				rt.methods = append(rt.methods, method)
			}
		}
	}
	slices.Sort(rt.methods)
	return rt, nil
}

// registerRoute turns ServeMux's panic on a bad or conflicting pattern into
// an error.
func registerRoute(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("specroute: %s: %v", pattern, r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// Find returns the route of r and its path parameters (unescaped), or
// ErrNotCanonical, ErrNotFound or a *MethodNotAllowedError.
func (rt *Router) Find(r *http.Request) (*routers.Route, map[string]string, error) {
	escaped := r.URL.EscapedPath()
	if !canonical(escaped) {
		return nil, nil, ErrNotCanonical
	}
	if route, ok := rt.match(r.Method, r); ok {
		params, err := pathParams(route.Path, escaped)
		return route, params, err
	}
	var allow []string
	for _, m := range rt.methods {
		if _, ok := rt.match(m, r); ok {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		return nil, nil, &MethodNotAllowedError{Allow: allow}
	}
	return nil, nil, ErrNotFound
}

func (rt *Router) match(method string, r *http.Request) (*routers.Route, bool) {
	// ServeMux.Handler reads only the method, host and URL.
	h, _ := rt.mux.Handler(&http.Request{Method: method, Host: r.Host, URL: r.URL})
	rh, ok := h.(routeHandler)
	return rh.route, ok
}

// canonical applies ServeMux's rule: the path cleaned (keeping a trailing
// slash) must be the path itself.
func canonical(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean == p
}

// pathParams pairs the template's {name} segments with the request's
// segments, unescaped one by one as ServeMux does for r.PathValue.
func pathParams(template, escaped string) (map[string]string, error) {
	tseg := strings.Split(template, "/")
	rseg := strings.Split(escaped, "/")
	if len(tseg) != len(rseg) {
		return nil, fmt.Errorf("specroute: %q does not fit %q", escaped, template)
	}
	params := map[string]string{}
	for i, t := range tseg {
		if !strings.HasPrefix(t, "{") || !strings.HasSuffix(t, "}") {
			continue
		}
		v, err := url.PathUnescape(rseg[i])
		if err != nil {
			return nil, fmt.Errorf("specroute: path segment %q: %w", rseg[i], err)
		}
		params[t[1:len(t)-1]] = v
	}
	return params, nil
}
