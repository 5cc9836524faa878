"""End-to-end tests of the whole joint-task chain (plan line → task → draw → dispatch) across the
planning, jointcheck, draws and staffing apps. Tests only: no models, not an installed app."""
