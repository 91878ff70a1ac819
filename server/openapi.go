package server

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/reckon-ml/reckon/auth"
)

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// OpenAPI is the OpenAPI 3 document of the route table.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range s.routes {
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
		}
		for _, p := range rt.Params {
			params = append(params, map[string]any{"name": p.Name, "in": "query", "description": p.Doc, "schema": map[string]string{"type": "string"}})
		}
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": strings.ToLower(rt.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", ".", "_").Replace(rt.Path),
			"x-action":    string(rt.Action),
			"responses": map[string]any{
				"200":     map[string]any{"description": "OK", "content": map[string]any{"application/json": map[string]any{}}},
				"default": map[string]any{"description": "an error", "content": map[string]any{"application/json": map[string]any{"schema": map[string]string{"$ref": "#/components/schemas/Error"}}}},
			},
		}
		if params != nil {
			op["parameters"] = params
		}
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi":  "3.0.3",
		"info":     map[string]any{"title": "reckon", "version": "v1", "description": "Every route needs Authorization: Bearer TOKEN (reckon tokens create). Roles: " + strings.Join(roleNames(), ", ") + "."},
		"paths":    paths,
		"security": []any{map[string]any{"bearer": []string{}}},
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]string{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{"Error": map[string]any{"type": "object", "properties": map[string]any{
				"error": map[string]any{"type": "object", "properties": map[string]any{
					"code": map[string]string{"type": "string"}, "message": map[string]string{"type": "string"}, "field": map[string]string{"type": "string"},
				}},
			}}},
		},
	}
}

func roleNames() []string {
	var out []string
	for _, r := range auth.Roles {
		out = append(out, string(r))
	}
	return out
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := allow(p, auth.Read, ""); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.OpenAPI())
	return nil
}
