package api

import (
	"reflect"

	"courierd/domain"
)

// HoldPushSlots takes every push slot until release is called, as a rush would.
func (s *Server) HoldPushSlots() (release func()) {
	n := cap(s.slots.free)
	for range n {
		s.slots.free <- struct{}{}
	}
	return func() {
		for range n {
			<-s.slots.free
		}
	}
}

// StatusOf exposes the code → status map to the tests.
func StatusOf(code domain.Code) (int, bool) {
	status, ok := statusOf[code]
	return status, ok
}

// ProblemStatuses is every code the server answers with its status.
func ProblemStatuses() map[string]int {
	out := make(map[string]int, len(statusOf))
	for code, status := range statusOf {
		out[string(code)] = status
	}
	return out
}

// ProblemType is the type URI the server gives a code.
func ProblemType(code string) string { return problemType(domain.Code(code)) }

// PageCSP and WithMapConfig expose how pages are told of the map's tiles.
var (
	PageCSP       = pageCSP
	WithMapConfig = withMapConfig
)

// DecodedTypes is the type each route read its body into so far, by "METHOD /path".
func DecodedTypes() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	decodedTypes.Range(func(route, typ any) bool {
		out[route.(string)] = typ.(reflect.Type)
		return true
	})
	return out
}

// DecodedType is the type route ("METHOD /path") read its body into, if it has read one.
func DecodedType(route string) (reflect.Type, bool) {
	typ, ok := decodedTypes.Load(route)
	if !ok {
		return nil, false
	}
	return typ.(reflect.Type), true
}

// BodyTypes is the request body type the API document gives each route, by "METHOD /path".
func (s *Server) BodyTypes() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for _, o := range s.ops {
		if o.body != nil {
			out[o.method+" "+o.path] = o.body
		}
	}
	return out
}
