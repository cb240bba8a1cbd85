"""The tutorial's app (docs/tutorial.md): one agent, one workflow, one activity group."""
