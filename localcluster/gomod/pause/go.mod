// The pause program of the real node's pod sandboxes (no dependencies; built like the rest).
module agentic.platform/localcluster/pause

go 1.26.0
