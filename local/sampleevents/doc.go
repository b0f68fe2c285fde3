// Package sampleevents holds only a test: every events/*.json is run through its function's
// real bootstrap under Amazon's Lambda Runtime Interface Emulator, with the environment
// `sam local` would give it (template.yaml's variables, local/sam-env.json's values), against
// a table seeded as `make dev` seeds it — so a sample event can never point at nothing.
package sampleevents
