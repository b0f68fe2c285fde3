package handlers

import (
	"context"

	"github.com/invite-forward/invite-forward/shared/httpapi"
	"github.com/invite-forward/invite-forward/shared/setup"
)

// ListAgents: GET /agents — every agent with availability; agents only.
func ListAgents(d *setup.Deps) httpapi.Handler {
	dir := d.Directory()
	return httpapi.Handle("list_agents", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		if err := r.Principal.RequireAgent(); err != nil {
			return httpapi.Response{}, err
		}
		agents, err := dir.ListAgents(ctx)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.OK(map[string]any{"agents": agents}), nil
	})
}

// ListTeams: GET /teams — every team with members and how many are online; agents only.
func ListTeams(d *setup.Deps) httpapi.Handler {
	dir := d.Directory()
	return httpapi.Handle("list_teams", d.Log, func(ctx context.Context, r *httpapi.Request) (httpapi.Response, error) {
		if err := r.Principal.RequireAgent(); err != nil {
			return httpapi.Response{}, err
		}
		teams, err := dir.ListTeams(ctx)
		if err != nil {
			return httpapi.Response{}, err
		}
		return httpapi.OK(map[string]any{"teams": teams}), nil
	})
}
